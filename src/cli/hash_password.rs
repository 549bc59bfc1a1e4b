//! `ferrid hash-password`: reads one line from stdin and prints its Argon2id PHC string, for a
//! `[[users]]` entry's `password_hash`.

use std::io::BufRead;
use std::process::ExitCode;

/// Hashes the password on stdin.
pub fn run() -> ExitCode {
    let mut line = String::new();
    if let Err(err) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("ferrid: cannot read stdin: {err}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("ferrid: empty password");
        return ExitCode::FAILURE;
    }
    match crate::users::hash_password(password) {
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
