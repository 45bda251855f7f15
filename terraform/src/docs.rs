//! Registry documentation from the provider's own schema (placeholder until written).

pub fn write(_dir: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
