//! `plugin_lock._native`: the Rust side of the Python package. It only converts: the
//! checks are `plugin_lock::runtime` (the code and kinds `plugin-lock verify` uses), the
//! command line is `plugin_lock::commands::main`. Results come back as plain dicts and
//! tuples; `plugin_lock/__init__.py` turns them into objects and typed exceptions.

use std::path::PathBuf;

use plugin_lock::checks::findings::Finding;
use plugin_lock::error::Error;
use plugin_lock::runtime::{self, LoadError, Options, Report, Status};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

fn options(lock: Option<PathBuf>) -> Options {
    Options {
        lock_path: lock,
        ..Options::default()
    }
}

fn finding<'py>(py: Python<'py>, f: &Finding) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", f.kind.as_str())?;
    d.set_item("severity", f.severity.as_str())?;
    d.set_item("plugin", f.plugin.as_deref())?;
    d.set_item("path", &f.path)?;
    d.set_item("line", f.line)?;
    d.set_item("message", f.title())?;
    d.set_item("help", f.help.as_deref())?;
    for key in ["expected", "actual"] {
        d.set_item(key, f.fields.get(key).and_then(|v| v.as_str()))?;
    }
    Ok(d)
}

/// An error that stopped the run: what it is about and where, for the Python exception.
fn failure<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("message", e.to_string())?;
    match e {
        Error::Config {
            file,
            line,
            column,
            message,
        } => {
            d.set_item("error", "config")?;
            d.set_item("path", file)?;
            d.set_item("line", line)?;
            d.set_item("column", column)?;
            d.set_item("reason", message)?;
        }
        Error::Io { path, .. } => {
            d.set_item("error", "io")?;
            d.set_item("path", path.to_string_lossy())?;
        }
        _ => d.set_item("error", "usage")?,
    }
    Ok(d)
}

fn report<'py>(py: Python<'py>, r: &Report) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("lock_path", &r.lock_path)?;
    d.set_item("ok", r.ok())?;
    let plugins = PyList::empty(py);
    for p in &r.plugins {
        let e = PyDict::new(py);
        e.set_item("id", &p.id)?;
        e.set_item("dir", &p.dir)?;
        e.set_item("status", p.status.as_str())?;
        match &p.status {
            Status::Ok { digest } => {
                e.set_item("expected", digest)?;
                e.set_item("actual", digest)?;
            }
            Status::Mismatch { expected, actual } => {
                e.set_item("expected", expected)?;
                e.set_item("actual", actual)?;
            }
            Status::Unlocked { actual } => e.set_item("actual", actual.as_deref())?,
            Status::Missing { expected } => e.set_item("expected", expected)?,
            Status::Rejected {
                kind,
                path,
                message,
            } => {
                e.set_item("kind", kind.as_str())?;
                e.set_item("path", path)?;
                e.set_item("message", message)?;
            }
        }
        plugins.append(e)?;
    }
    d.set_item("plugins", plugins)?;
    let findings = PyList::empty(py);
    for f in &r.findings {
        findings.append(finding(py, f)?)?;
    }
    d.set_item("findings", findings)?;
    Ok(d)
}

/// `verify(root, lock=None) -> (True, report) | (False, failure)`.
#[pyfunction]
#[pyo3(signature = (root, lock=None))]
fn verify<'py>(
    py: Python<'py>,
    root: PathBuf,
    lock: Option<PathBuf>,
) -> PyResult<(bool, Bound<'py, PyDict>)> {
    let options = options(lock);
    match py.detach(|| runtime::verify(&root, &options)) {
        Ok(r) => Ok((true, report(py, &r)?)),
        Err(e) => Ok((false, failure(py, &e)?)),
    }
}

/// `load_verified(root, plugin_id, lock=None) -> (True, plugin) | (False, failure)`;
/// a failure carries `error`: `integrity` (with `finding`), `unknown_plugin`, or what
/// stopped the run.
#[pyfunction]
#[pyo3(signature = (root, plugin_id, lock=None))]
fn load_verified<'py>(
    py: Python<'py>,
    root: PathBuf,
    plugin_id: String,
    lock: Option<PathBuf>,
) -> PyResult<(bool, Bound<'py, PyDict>)> {
    let options = options(lock);
    match py.detach(|| runtime::load_verified(&root, &plugin_id, &options)) {
        Ok(p) => {
            let d = PyDict::new(py);
            d.set_item("id", &p.id)?;
            d.set_item("dir", &p.dir)?;
            d.set_item("digest", &p.digest)?;
            let files = PyList::empty(py);
            for (path, bytes) in &p.files {
                files.append((path, PyBytes::new(py, bytes)))?;
            }
            d.set_item("files", files)?;
            Ok((true, d))
        }
        Err(LoadError::Integrity(f)) => {
            let d = PyDict::new(py);
            d.set_item("error", "integrity")?;
            d.set_item("message", f.title())?;
            d.set_item("finding", finding(py, &f)?)?;
            Ok((false, d))
        }
        Err(e @ LoadError::UnknownPlugin(_)) => {
            let d = PyDict::new(py);
            d.set_item("error", "unknown_plugin")?;
            d.set_item("message", e.to_string())?;
            d.set_item("plugin", &plugin_id)?;
            Ok((false, d))
        }
        Err(LoadError::Run(e)) => Ok((false, failure(py, &e)?)),
    }
}

/// The `plugin-lock` command: `argv` with the program name first; the exit code.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
    py.detach(|| plugin_lock::commands::main(argv))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(load_verified, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
