//! `reproduce --verify`: the checks of a results folder as written, without running anything.
//!
//! Every part records its checks in `results/<part>.json` (`meta.checks`: the paper's value, ours, the
//! tolerance). Verifying reads them back and applies [`Check::passed`] again, so a folder whose parts
//! were computed elsewhere (Figure 1 on a GPU machine, Table 1 on this one) or long ago is verified
//! without its checkpoints. A part that is missing, unreadable, or recorded in the other mode fails
//! the verification as an outside check does.

use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;

use crate::checks::Check;
use crate::context::Mode;
use crate::parts::Part;

/// What one part's JSON says: its revision, host and checks.
struct Recording {
    revision: String,
    host: String,
    checks: Vec<Check>,
}

/// Reads `<out>/<part>.json` and its recorded checks, requiring it to be of `mode`.
fn read(out: &Path, part: &str, mode: Mode) -> Result<Recording> {
    let path = out.join(format!("{part}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{part}: no results at {}", path.display()))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{part}: {} is not JSON", path.display()))?;
    let meta =
        json.get("meta").ok_or_else(|| anyhow!("{part}: {} has no meta object", path.display()))?;
    let recorded_mode = meta.get("mode").and_then(Value::as_str).unwrap_or("unknown");
    if recorded_mode != mode.label() {
        bail!(
            "{part}: {} holds a {recorded_mode}-mode run, not {} mode",
            path.display(),
            mode.label()
        );
    }
    let text_of =
        |key: &str| meta.pointer(key).and_then(Value::as_str).unwrap_or("unknown").to_owned();
    let checks: Vec<Check> =
        serde_json::from_value(meta.get("checks").cloned().unwrap_or(Value::Null))
            .with_context(|| format!("{part}: the checks in {} are unreadable", path.display()))?;
    Ok(Recording {
        revision: text_of("/provenance/git_revision"),
        host: text_of("/provenance/host"),
        checks,
    })
}

/// Verifies `parts` in `out` for `mode`: one line per part on stderr, then an error listing every
/// failure (a check outside its tolerance, or a part that cannot be read) if there is any.
pub fn verify(out: &Path, mode: Mode, parts: &[&Part]) -> Result<()> {
    let mut failures = Vec::new();
    for part in parts {
        match read(out, part.name, mode) {
            Ok(recording) => {
                let outside: Vec<String> = recording
                    .checks
                    .iter()
                    .filter(|c| !c.passed())
                    .map(|c| format!("{}: {c}", part.name))
                    .collect();
                eprintln!(
                    "reproduce: {} ({} mode, git {}, on {}): {} checks, {} outside",
                    part.name,
                    mode.label(),
                    recording.revision,
                    recording.host,
                    recording.checks.len(),
                    outside.len()
                );
                failures.extend(outside);
            }
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    if !failures.is_empty() {
        bail!("verification failed ({}):\n  {}", failures.len(), failures.join("\n  "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::context::Context;
    use crate::parts::Outcome;

    const ONE: Part =
        Part { name: "one", title: "One", about: "", run: |_| unreachable!("never run") };
    const TWO: Part =
        Part { name: "two", title: "Two", about: "", run: |_| unreachable!("never run") };

    /// Writes part `part`'s JSON in `mode` with `checks`, as a run writes it.
    fn write(dir: &Path, part: &Part, mode: Mode, checks: Vec<Check>) {
        let ctx = Context::new(dir.to_path_buf(), mode, 0).unwrap();
        let outcome =
            Outcome { data: json!({}), config: json!({}), markdown: String::new(), checks };
        crate::store::write_part(&ctx, part, &outcome, 1.0).unwrap();
    }

    fn error(result: Result<()>) -> String {
        format!("{:#}", result.expect_err("verification should fail"))
    }

    #[test]
    fn a_folder_passes_exactly_when_every_recorded_check_does() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &ONE,
            Mode::Full,
            vec![Check::new("a", 1.0, 1.04, 0.05), Check::new("b", 2.0, 2.0, 0.0)],
        );
        write(dir.path(), &TWO, Mode::Full, vec![Check::new("c", 1.0, 1.0, 0.1)]);
        verify(dir.path(), Mode::Full, &[&ONE, &TWO]).unwrap();

        write(
            dir.path(),
            &TWO,
            Mode::Full,
            vec![Check::new("c", 1.0, 1.2, 0.1), Check::new("d", 1.0, f64::NAN, 0.1)],
        );
        let message = error(verify(dir.path(), Mode::Full, &[&ONE, &TWO]));
        assert!(
            message.contains("(2)") && message.contains("two: c:") && message.contains("two: d:"),
            "{message}"
        );
        verify(dir.path(), Mode::Full, &[&ONE]).unwrap();
    }

    #[test]
    fn a_missing_unreadable_or_other_mode_part_fails() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &ONE, Mode::Quick, vec![Check::new("a", 1.0, 1.0, 0.1)]);
        assert!(error(verify(dir.path(), Mode::Full, &[&ONE]))
            .contains("quick-mode run, not full mode"));
        verify(dir.path(), Mode::Quick, &[&ONE]).unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&TWO])).contains("two: no results"));
        std::fs::write(dir.path().join("two.json"), "{\"meta\": ").unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&TWO])).contains("is not JSON"));
        std::fs::write(
            dir.path().join("two.json"),
            "{\"meta\": {\"mode\": \"quick\", \"checks\": 3}}",
        )
        .unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&TWO])).contains("unreadable"));
    }
}
