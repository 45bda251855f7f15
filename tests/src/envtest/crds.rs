//! Installing the PGO CRDs: server-side applied from the YAML of `shared/reference/pgo-crds`
//! (v6.0.3), then waited for until `Established` and until their resources answer a list
//! (a freshly established CRD can take a moment to be served).

use std::path::Path;
use std::sync::Mutex;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};

use super::processes::Process;

/// The PGO CRD files installed, relative to [`super::crd_dir`] (v6.0.3).
pub const CRD_FILES: &[&str] = &[
    "postgres-operator.crunchydata.com_postgresclusters.yaml",
    "postgres-operator.crunchydata.com_pgupgrades.yaml",
];

/// Creates the PGO CRDs from `crd_dir`, waits until they are `Established` and their
/// resources answer a list.
pub async fn install(
    client: &kube::Client,
    crd_dir: &Path,
    processes: &Mutex<Vec<Process>>,
) -> Result<(), String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for file in CRD_FILES {
        let path = crd_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let crd: serde_json::Value = serde_saphyr::from_str(&text)
            .map_err(|e| format!("parsing {}: {e}", path.display()))?;
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let params = PatchParams::apply("pgplane-envtest").force();
        super::start::ready(&format!("CRD {name} applied"), processes, || async {
            crds.patch(&name, &params, &Patch::Apply(&crd))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await?;
        names.push((name, crd));
    }
    for (name, crd) in &names {
        super::start::ready(&format!("CRD {name} Established"), processes, || async {
            let current = crds.get(name).await.map_err(|e| e.to_string())?;
            let established = current
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established
                .then_some(())
                .ok_or_else(|| "not Established yet".to_string())
        })
        .await?;
        let group = crd["spec"]["group"].as_str().unwrap_or_default();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
        let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
        let resource = kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk(group, "v1beta1", kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        super::start::ready(&format!("{plural} served"), processes, || async {
            api.list(&ListParams::default().limit(1))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await?;
    }
    Ok(())
}
