//! Turning a [`ClusterRequest`] into a [`ClusterSpec`]: fill every default, then check every
//! field and every cross-field rule, collecting one [`FieldError`] per bad field.

use std::collections::BTreeMap;

use serde_json::Value;

use super::request::{
    BackupsRequest, ClusterRequest, PoolerRequest, ResourcesRequest, StorageRequest, covers,
};
use super::spec::{
    BackupSchedules, Backups, ClusterSource, ClusterSpec, DatabaseUser, Monitoring, Pooler,
    Resources, StandbySource, Storage, bounds, defaults,
};
use super::{FieldError, cron, naming, parameters, quantity, validate};

impl ClusterSpec {
    /// Fills every default into `request` and validates the result; on failure returns one
    /// error per offending field, all of them.
    pub fn from_request(request: ClusterRequest) -> Result<ClusterSpec, Vec<FieldError>> {
        let spec = with_defaults(request);
        let errors = spec.validation_errors();
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors)
        }
    }

    /// Reads and validates a JSON request document (a `POST` body), reporting unreadable and
    /// invalid fields together.
    pub fn from_json(document: &Value) -> Result<ClusterSpec, Vec<FieldError>> {
        let (spec, errors) = Self::read_and_check(document);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors)
        }
    }

    /// The defaulted spec for `document` (unreadable fields defaulted) and every error: first
    /// the reading errors, then validation errors of the fields that could be read.
    pub(super) fn read_and_check(document: &Value) -> (ClusterSpec, Vec<FieldError>) {
        let (request, mut errors) = ClusterRequest::read(document);
        if errors.iter().any(|e| e.field.is_empty()) {
            return (with_defaults(request), errors);
        }
        let mut unreadable: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        if unreadable.iter().any(|u| u == "name") {
            // Their defaults derive from the name: nothing useful to say about them.
            for (key, given) in [("database", &request.database), ("owner", &request.owner)] {
                if given.is_none() {
                    unreadable.push(key.to_string());
                }
            }
        }
        let spec = with_defaults(request);
        let invalid = spec.validation_errors();
        errors.extend(
            invalid
                .into_iter()
                .filter(|e| !unreadable.iter().any(|u| covers(u, &e.field))),
        );
        (spec, errors)
    }

    /// The full `postgresql.conf` map pgplane applies: size-derived and operational defaults
    /// with the tenant's overrides (`parameters`) on top.
    pub fn effective_parameters(&self) -> BTreeMap<String, String> {
        parameters::effective(self)
    }

    /// Every rule the spec breaks, as field errors (empty when valid).
    pub fn validation_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError::new(field, message));
            }
        };
        check("name", validate::cluster_name(&self.name));
        check(
            "postgres_version",
            within("", self.postgres_version, bounds::POSTGRES_VERSIONS),
        );
        check("instances", within("", self.instances, bounds::INSTANCES));

        let cpu = quantity::parse_cpu_millis(&self.resources.cpu);
        check("resources.cpu", cpu.and_then(cpu_within));
        let memory = quantity::parse_bytes(&self.resources.memory);
        check(
            "resources.memory",
            memory
                .clone()
                .and_then(|b| bytes_within(b, bounds::MEMORY_BYTES)),
        );
        let storage = quantity::parse_bytes(&self.storage.size);
        check(
            "storage.size",
            storage
                .clone()
                .and_then(|b| bytes_within(b, bounds::STORAGE_BYTES)),
        );
        if let Some(class) = &self.storage.class {
            check("storage.class", validate::storage_class(class));
        }

        let schedules = &self.backups.schedules;
        let kinds = [
            ("backups.schedules.full", &schedules.full),
            ("backups.schedules.differential", &schedules.differential),
            ("backups.schedules.incremental", &schedules.incremental),
        ];
        for (i, (field, schedule)) in kinds.iter().enumerate() {
            let Some(expr) = schedule else { continue };
            let twin = kinds[..i]
                .iter()
                .find(|(_, other)| other.as_deref() == Some(expr.as_str()));
            match twin {
                // pgBackRest holds one lock per stanza: the second backup would fail.
                Some((other, _)) => check(field, Err(format!("fires together with {other}"))),
                None => check(field, backup_schedule(expr)),
            }
        }
        if self.backups.enabled && schedules.full.is_none() {
            check(
                "backups.schedules.full",
                Err("is required while backups are enabled".into()),
            );
        }
        check(
            "backups.retention_full",
            within("", self.backups.retention_full, bounds::RETENTION_FULL),
        );
        check(
            "pooler.replicas",
            within("", self.pooler.replicas, bounds::POOLER_REPLICAS),
        );

        check("database", validate::database_name(&self.database));
        check("owner", validate::role_name(&self.owner));
        if let Some(source) = &self.source {
            check("source.cluster", validate::cluster_name(&source.cluster));
            if source.cluster == self.name {
                check(
                    "source.cluster",
                    Err("a cluster cannot be cloned from itself".into()),
                );
            }
        }
        if let Some(standby) = &self.standby {
            let own = if standby.source == self.name {
                Err("a cluster cannot be a standby of itself".to_string())
            } else {
                Ok(())
            };
            check(
                "standby.source",
                validate::cluster_name(&standby.source).and(own),
            );
            if self.source.is_some() {
                check(
                    "standby",
                    Err(
                        "a cluster is either a clone (`source`) or a standby (`standby`), not both"
                            .into(),
                    ),
                );
            }
        }
        self.user_errors(&mut errors);

        errors.extend(parameters::validate_overrides(
            &self.parameters,
            memory.ok().filter(|b| bounds::MEMORY_BYTES.contains(b)),
            storage.ok().filter(|b| bounds::STORAGE_BYTES.contains(b)),
        ));
        errors
    }

    fn user_errors(&self, errors: &mut Vec<FieldError>) {
        if self.users.len() + 1 > bounds::MAX_USERS {
            errors.push(FieldError::new(
                "users",
                format!("at most {} users besides the owner", bounds::MAX_USERS - 1),
            ));
        }
        let mut names = vec![self.owner.as_str()];
        for (i, user) in self.users.iter().enumerate() {
            let field = format!("users[{i}]");
            if let Err(why) = validate::role_name(&user.name) {
                errors.push(FieldError::new(format!("{field}.name"), why));
            } else if names.contains(&user.name.as_str()) {
                errors.push(FieldError::new(
                    format!("{field}.name"),
                    format!(
                        "`{}` is already a user of this cluster (or its owner)",
                        user.name
                    ),
                ));
            }
            names.push(&user.name);
            for (j, database) in user.databases.iter().enumerate() {
                let path = format!("{field}.databases[{j}]");
                if let Err(why) = validate::database_name(database) {
                    errors.push(FieldError::new(path, why));
                } else if user.databases[..j].contains(database) {
                    errors.push(FieldError::new(path, format!("lists `{database}` twice")));
                }
            }
            if let Some(options) = &user.options
                && let Err(why) = validate::role_options(options)
            {
                errors.push(FieldError::new(format!("{field}.options"), why));
            }
        }
        for (i, user) in names.iter().enumerate() {
            let secret = naming::user_secret_name(&self.name, user);
            if secret.len() > naming::MAX_SECRET_NAME_LEN {
                let field = if i == 0 {
                    "owner".to_string()
                } else {
                    format!("users[{}].name", i - 1)
                };
                errors.push(FieldError::new(
                    field,
                    format!("makes the Secret name `{secret}` too long"),
                ));
            }
        }
    }
}

/// `request` with every absent field replaced by its default.
fn with_defaults(request: ClusterRequest) -> ClusterSpec {
    let ResourcesRequest { cpu, memory } = request.resources.unwrap_or_default();
    let StorageRequest { size, class } = request.storage.unwrap_or_default();
    let BackupsRequest {
        enabled,
        schedules,
        retention_full,
    } = request.backups.unwrap_or_default();
    let PoolerRequest {
        enabled: pooler_enabled,
        replicas,
    } = request.pooler.unwrap_or_default();
    let schedules = match schedules {
        None => BackupSchedules {
            full: Some(defaults::FULL_SCHEDULE.to_string()),
            differential: None,
            incremental: Some(defaults::INCREMENTAL_SCHEDULE.to_string()),
        },
        Some(given) => BackupSchedules {
            full: given.full,
            differential: given.differential,
            incremental: given.incremental,
        },
    };
    let name = request.name;
    ClusterSpec {
        postgres_version: request
            .postgres_version
            .unwrap_or(defaults::POSTGRES_VERSION),
        instances: request.instances.unwrap_or(defaults::INSTANCES),
        resources: Resources {
            cpu: cpu.unwrap_or_else(|| defaults::CPU.to_string()),
            memory: memory.unwrap_or_else(|| defaults::MEMORY.to_string()),
        },
        storage: Storage {
            size: size.unwrap_or_else(|| defaults::STORAGE_SIZE.to_string()),
            class,
        },
        backups: Backups {
            enabled: enabled.unwrap_or(defaults::BACKUPS_ENABLED),
            schedules,
            retention_full: retention_full.unwrap_or(defaults::RETENTION_FULL),
        },
        pooler: Pooler {
            enabled: pooler_enabled.unwrap_or(false),
            replicas: replicas.unwrap_or(defaults::POOLER_REPLICAS),
        },
        monitoring: Monitoring {
            enabled: request.monitoring.and_then(|m| m.enabled).unwrap_or(false),
        },
        parameters: request.parameters.unwrap_or_default(),
        database: request.database.unwrap_or_else(|| name.clone()),
        owner: request.owner.unwrap_or_else(|| name.clone()),
        users: (request.users.unwrap_or_default().into_iter())
            .map(|u| DatabaseUser {
                name: u.name,
                databases: u.databases.unwrap_or_default(),
                options: u.options,
            })
            .collect(),
        deletion_policy: request.deletion_policy.unwrap_or_default(),
        deletion_protection: request.deletion_protection.unwrap_or(false),
        suspended: request.suspended.unwrap_or(false),
        source: request.source.map(|s| ClusterSource {
            cluster: s.cluster,
            target_time: s.target_time,
        }),
        standby: request.standby.map(|s| StandbySource { source: s.source }),
        name,
    }
}

fn backup_schedule(expr: &str) -> Result<(), String> {
    cron::validate(expr)?;
    if !cron::fires_at_most_hourly(expr) {
        return Err(format!(
            "`{expr}` fires more than once an hour: fix the minute field"
        ));
    }
    Ok(())
}

fn within<T: PartialOrd + std::fmt::Display>(
    unit: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "must be between {}{unit} and {}{unit}",
            range.start(),
            range.end()
        ))
    }
}

fn cpu_within(millis: u64) -> Result<(), String> {
    let range = bounds::CPU_MILLIS;
    if range.contains(&millis) {
        Ok(())
    } else {
        Err(format!(
            "must be between {}m and {} cores",
            range.start(),
            range.end() / 1000
        ))
    }
}

fn bytes_within(bytes: u64, range: std::ops::RangeInclusive<u64>) -> Result<(), String> {
    if range.contains(&bytes) {
        Ok(())
    } else {
        Err(format!(
            "must be between {} and {}",
            quantity::format_bytes(*range.start()),
            quantity::format_bytes(*range.end())
        ))
    }
}

#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod tests;
