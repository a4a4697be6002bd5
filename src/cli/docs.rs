//! Shell completions and the man page, generated from the one CLI definition ([`Cli`]), so
//! neither can drift from the flags edgewatch actually takes.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// Writes the completion script for `shell` (e.g. into `/etc/bash_completion.d/edgewatch`).
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "edgewatch", out);
}

/// Writes the man page (roff, section 1): `edgewatch man > edgewatch.1`.
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        completions(shell, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bash_completion_is_valid_bash_and_knows_the_flags_and_subcommands() {
        let text = script(Shell::Bash);
        for word in [
            "--once",
            "--config",
            "check-config",
            "echo",
            "completions",
            "man",
        ] {
            assert!(text.contains(word), "`{word}` missing from:\n{text}");
        }
        let mut bash = Command::new("bash")
            .arg("-n")
            .stdin(Stdio::piped())
            .spawn()
            .expect("bash");
        bash.stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(bash.wait().unwrap().success(), "bash -n rejects the script");
    }

    #[test]
    fn zsh_and_fish_completions_name_edgewatch_and_its_flags() {
        let zsh = script(Shell::Zsh);
        assert!(zsh.starts_with("#compdef edgewatch"), "{zsh}");
        assert!(zsh.contains("--once"));
        let fish = script(Shell::Fish);
        assert!(fish.contains("complete -c edgewatch"), "{fish}");
        assert!(fish.contains("-l once"), "{fish}");
    }

    #[test]
    fn the_man_page_is_roff_with_the_options_and_subcommands() {
        let mut out = Vec::new();
        man(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains(".TH edgewatch 1"), "{page}");
        for word in [
            "\\-\\-once",
            "\\-\\-config",
            "check\\-config",
            "completions",
        ] {
            assert!(page.contains(word), "`{word}` missing from:\n{page}");
        }
    }
}
