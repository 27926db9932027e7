//! `digest DIR...`: the digest of plugin directories, with `--explain` its records.

use gix::bstr::BStr;

use crate::commands::ctx::*;
use crate::digest;
use crate::error::{Error, Result, exit};
use crate::escape;
use crate::report::{self, json};
use crate::tree::Kind;
use crate::tree::Tree;
use crate::tree::git::Selector;

/// `digest DIR...`: DIRs are tree paths relative to the current directory, like pathspecs.
pub fn run(ctx: &mut Ctx<'_>, dirs: &[String], explain: bool) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let mut targets = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let path = tree_path(&snap.prefix, dir)?;
        match reader.lookup(BStr::new(&path))? {
            Some(node)
                if node.kind == Kind::Dir
                    || node.kind == Kind::Link
                    || node.kind == Kind::Submodule =>
            {
                targets.push((path, node));
            }
            _ => {
                return Err(Error::Usage(format!(
                    "`{dir}` is not a directory in the tree ({})",
                    snap.source
                )));
            }
        }
    }
    let options = digest::Options {
        policy: settings.config.symlinks,
        records: explain,
        read_only: false,
        contents: false,
        line_ends: false,
    };
    snap.prefetch(targets.iter().map(|(path, node)| (BStr::new(path), node)))?;
    let outcomes = snap.par_map(&targets, |reader, (path, node), buf| {
        digest::plugin(reader, BStr::new(path), node, &options, buf)
    })?;
    let mut rejected = false;
    match ctx.format()? {
        Plain::Json => {
            #[derive(serde::Serialize)]
            struct Entry<'a> {
                dir: &'a str,
                digest: Option<&'a str>,
                rejection: Option<report::RejectionJson<'a>>,
                #[serde(skip_serializing_if = "Option::is_none")]
                records: Option<Vec<RecordJson<'a>>>,
            }
            #[derive(serde::Serialize)]
            struct RecordJson<'a> {
                path: &'a str,
                size: u64,
                sha256: &'a str,
            }
            let entries: Vec<Entry<'_>> = dirs
                .iter()
                .zip(&outcomes)
                .map(|(dir, o)| Entry {
                    dir,
                    digest: o.result.as_ref().ok().map(String::as_str),
                    rejection: o.result.as_ref().err().map(report::RejectionJson::new),
                    records: explain.then(|| {
                        o.records
                            .iter()
                            .map(|r| RecordJson {
                                path: &r.path,
                                size: r.size,
                                sha256: &r.sha256,
                            })
                            .collect()
                    }),
                })
                .collect();
            rejected = outcomes.iter().any(|o| o.result.is_err());
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                digests: Vec<Entry<'a>>,
            }
            json::write(ctx.out, &Doc { digests: entries }).map_err(io_out)?;
        }
        Plain::Human => {
            for (dir, o) in dirs.iter().zip(&outcomes) {
                match &o.result {
                    Ok(d) => {
                        for r in &o.records {
                            writeln!(
                                ctx.out,
                                "{}  {}  {}",
                                r.sha256,
                                r.size,
                                escape::shown(&r.path)
                            )
                            .map_err(io_out)?;
                        }
                        writeln!(ctx.out, "{d}  {}", escape::shown(dir)).map_err(io_out)?;
                    }
                    Err(r) => {
                        rejected = true;
                        writeln!(
                            ctx.err,
                            "plugin-lock: {}: rejected [{}]: {}",
                            escape::shown(dir),
                            r.kind.as_str(),
                            escape::shown(&r.message)
                        )
                        .map_err(io_out)?;
                    }
                }
            }
        }
    }
    Ok(if rejected {
        exit::CHECK_FAILED
    } else {
        exit::OK
    })
}
