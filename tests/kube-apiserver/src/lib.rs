//! In-process Kubernetes API server for tests (under construction).
