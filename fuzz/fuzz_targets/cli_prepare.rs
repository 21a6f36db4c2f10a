//! The passes that change the command line before clap reads it ([`toll::cli::prepare`]: `-K`
//! files and `-H @FILE`, curl 8's `--variable`/`--expand-`, the `--no-` forms, `--next`): never
//! a panic, whatever the arguments, the file and the environment hold; and each line they give
//! is final: preparing it again changes nothing (no variable, `--expand-`, `--no-` form, `-K`
//! or `--next` is left for clap outside an option's value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::OsString;

fn prepare(args: Vec<OsString>, file: &[u8]) -> Option<Vec<Option<Vec<OsString>>>> {
    let read = |name: &str| -> std::io::Result<Vec<u8>> {
        if name == "F" || name == "-" {
            Ok(file.to_vec())
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    };
    let env = |name: &str| (name == "E").then(|| b"env value".to_vec());
    let mut warn = |_: String| {};
    let mut src = toll::cli::ArgSources { read: &read, env: &env, warn: &mut warn };
    toll::cli::prepare(args, &mut src).ok()
}

fuzz_target!(|data: &[u8]| {
    // The first line is the file's content (for `-K F`, `-H @F`, `--variable x@F`, `@-`), the
    // rest the arguments, NUL-separated.
    let (file, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let mut args = vec![OsString::from("toll")];
    args.extend(rest.split(|b| *b == 0).take(64).map(|a| OsString::from(String::from_utf8_lossy(a).into_owned())));
    let Some(lines) = prepare(args, file) else { return };
    for line in lines.into_iter().flatten() {
        // A header file's line that starts with '@' is `-H @…` again: not final, as in curl.
        if line.iter().any(|a| a.to_string_lossy().starts_with('@')) {
            continue;
        }
        let again = prepare(line.clone(), file);
        assert_eq!(again, Some(vec![Some(line.clone())]), "not final: {line:?}");
    }
});
