//! A value handed to a second shell is parsed again: `run: sh -c "echo ${{ inputs.x }}"`
//! gives the inner `sh` the value as program text, where `$(…)` runs. lifeboat makes a
//! value safe for the shell that runs `run:`, not for one that command starts; so
//! `validate` warns, with the form that is safe.

use super::*;

/// Programs that read their argument as shell text.
fn inner_shell(words: &[&str]) -> Option<String> {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    for (i, w) in words.iter().enumerate() {
        let name = base(w);
        let later_c = || words[i + 1..].iter().any(|x| x.starts_with('-') && !x.starts_with("--") && x.ends_with('c'));
        match name.as_str() {
            "eval" | "ssh" => return Some(name),
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "su" if later_c() => return Some(format!("{name} -c")),
            _ => {}
        }
    }
    None
}

/// Warns for each `${{ }}` in `run` that a shell started by the command would parse.
pub(super) fn check(cx: &mut Cx, run: &Sp<String>) {
    for line in run.value.lines() {
        let Some(at) = line.find("${{") else { continue };
        let before: Vec<&str> =
            line[..at].split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | '`')).collect();
        // A new command after `;`, `|` or `&&` starts a new question; the words of the
        // one holding the value are what count.
        let words: Vec<&str> = before.into_iter().filter(|w| !w.is_empty()).collect();
        if let Some(shell) = inner_shell(&words) {
            cx.push(Diag::new(Kind::ValueReparsed(shell.clone()), run.span).help(format!(
                "hand the value to the inner shell as a variable, which it does not parse: \
                 `X=${{{{ inputs.x }}}} {shell} '… \"$X\" …'` (lifeboat quotes the value for the outer shell only)"
            )));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::inner_shell;

    #[test]
    fn a_second_shell_is_found_and_a_plain_command_is_not() {
        let w = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();
        assert_eq!(inner_shell(&w("sh -c \"echo L")), Some("sh -c".into()));
        assert_eq!(inner_shell(&w("/bin/bash -ec 'x")), Some("bash -c".into()));
        assert_eq!(inner_shell(&w("xargs sh -c")), Some("sh -c".into()));
        assert_eq!(inner_shell(&w("su postgres -c")), Some("su -c".into()));
        assert_eq!(inner_shell(&w("ssh db1")), Some("ssh".into()));
        assert_eq!(inner_shell(&w("eval")), Some("eval".into()));
        assert_eq!(inner_shell(&w("echo")), None);
        assert_eq!(inner_shell(&w("aws s3 cp --recursive")), None);
        assert_eq!(inner_shell(&w("sh ./restore.sh")), None);
    }
}
