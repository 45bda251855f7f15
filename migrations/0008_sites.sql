-- Where a cluster runs: its tenant's home site, or the disaster-recovery site a platform may
-- configure (PGPLANE_DR_NAMESPACE_PREFIX on Kubernetes), where standbys of home clusters go.
-- Chosen at creation and kept for life: a promoted standby stays where it is.
alter table clusters add column site text not null default 'home';
alter table clusters add constraint clusters_site_known check (site in ('home', 'recovery'));
