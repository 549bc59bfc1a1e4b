//! `ferrid hash-password`: prints the Argon2id PHC string of a password, for a `[[users]]`
//! entry's `password_hash`. On a terminal it prompts twice without echo (`rpassword` reads
//! `/dev/tty` with echo off), so the password is neither shown nor left in the shell history;
//! otherwise (a pipe, or `--password-stdin`) it reads one line from stdin.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use zeroize::Zeroizing;

/// Hashes a password read from the terminal or stdin.
pub fn run(password_stdin: bool) -> ExitCode {
    let password = match read_password(password_stdin) {
        Ok(password) => password,
        Err(err) => {
            eprintln!("ferrid: {err}");
            return ExitCode::FAILURE;
        }
    };
    if password.is_empty() {
        eprintln!("ferrid: empty password");
        return ExitCode::FAILURE;
    }
    match crate::users::hash_password(&password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ferrid: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A new password: prompted for twice without echo on a terminal, else (or with
/// `password_stdin`) one line of stdin.
pub(crate) fn read_password(password_stdin: bool) -> Result<Zeroizing<String>, String> {
    if password_stdin || !std::io::stdin().is_terminal() {
        read_stdin()
    } else {
        prompt_twice()
    }
}

fn read_stdin() -> Result<Zeroizing<String>, String> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| format!("cannot read stdin: {err}"))?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn prompt_twice() -> Result<Zeroizing<String>, String> {
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|err| format!("cannot read the password from the terminal: {err}"))
    };
    let password = read("Password: ")?;
    let repeated = read("Repeat password: ")?;
    if password != repeated {
        return Err("the passwords do not match".into());
    }
    Ok(password)
}
