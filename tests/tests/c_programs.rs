//! The C programs of `tests/c/`, compiled with `-std=c11 -Wall -Wextra -Werror -pedantic` against
//! `include/dagu_auth.h` and linked to the plugin the way an installed library is used
//! (`-ldagu_auth` through the SONAME `libdagu_auth.so.1`, found by rpath). They run plainly, under
//! AddressSanitizer and under valgrind. Without gcc (or valgrind) a test prints why it skips,
//! unless `DAGU_AUTH_REQUIRE_ALL=1`.
//!
//! Linking rather than dlopen: the linker then resolves every function the programs call against
//! the library (a header declaring a function the library lacks fails the build), and the SONAME
//! is exercised. The Go host (tests/go) covers the dlopen path.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dagu_auth_tests::native::{
    describe, gcc_strict, header_functions, installed_lib_dir, native_dir, passed_count, run,
    run_ok, tool_or_skip,
};
use dagu_auth_tests::workspace_root;

/// Programs that print `N passed, 0 failed`.
const CHECKED_PROGRAMS: [&str; 2] = ["api_calls", "threads"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Build {
    Plain,
    AddressSanitizer,
}

fn c_dir() -> PathBuf {
    workspace_root().join("tests/c")
}

/// Compiles `tests/c/<name>.c` into `target/native/<profile>/c-<build>/<name>`.
fn compile(gcc: &Path, name: &str, build: Build) -> PathBuf {
    let out_dir = native_dir().join(match build {
        Build::Plain => "c-plain",
        Build::AddressSanitizer => "c-asan",
    });
    fs::create_dir_all(&out_dir).expect("create the C output folder");
    let exe = out_dir.join(name);
    let lib = installed_lib_dir();
    let mut command = gcc_strict(gcc);
    if build == Build::AddressSanitizer {
        command.args(["-fsanitize=address", "-fno-omit-frame-pointer"]);
    }
    command
        .arg(format!("-I{}", c_dir().display()))
        .arg("-o")
        .arg(&exe)
        .arg(c_dir().join(format!("{name}.c")))
        .arg(format!("-L{}", lib.display()))
        .arg("-ldagu_auth")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-pthread");
    run_ok(&mut command);
    exe
}

/// Runs a program with a fresh data folder as its argument.
fn run_program(mut command: Command) -> Output {
    let data = tempfile::tempdir().expect("a temporary data folder");
    command.arg(data.path());
    run(&mut command)
}

fn assert_passed(name: &str, how: &str, output: &Output) -> u64 {
    assert!(
        output.status.success(),
        "{name} failed {how}\n{}",
        describe(output)
    );
    let passed = passed_count(output);
    println!("{name} {how}: {passed} passed, 0 failed");
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if line.starts_with("authorize:") || line.starts_with("mixed phase:") {
            println!("  {line}");
        }
    }
    passed
}

fn assert_example_ran(how: &str, output: &Output) {
    assert!(
        output.status.success(),
        "example failed {how}\n{}",
        describe(output)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "write in ops: allowed\n",
        "example output {how}"
    );
}

#[test]
fn c_programs_pass_linked_plainly() {
    let Some(gcc) = tool_or_skip("gcc", "gcc") else {
        return;
    };
    for name in CHECKED_PROGRAMS {
        let exe = compile(&gcc, name, Build::Plain);
        assert_passed(name, "plainly", &run_program(Command::new(exe)));
    }
    let example = compile(&gcc, "example", Build::Plain);
    assert_example_ran("plainly", &run_program(Command::new(example)));
}

#[test]
fn c_programs_pass_under_address_sanitizer() {
    let Some(gcc) = tool_or_skip("gcc", "gcc") else {
        return;
    };
    // The executable carries the ASan runtime first in link order, so no LD_PRELOAD is needed;
    // the uninstrumented Rust library's malloc/free go through ASan's interceptors, so a bad
    // free or an overflow into plugin-owned memory by the caller is caught, and LeakSanitizer
    // checks that everything the library handed out was freed.
    let asan_options = "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=23";
    for name in CHECKED_PROGRAMS.iter().copied().chain(["example"]) {
        let exe = compile(&gcc, name, Build::AddressSanitizer);
        let mut command = Command::new(exe);
        command.env("ASAN_OPTIONS", asan_options);
        let output = run_program(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("AddressSanitizer") && !stderr.contains("LeakSanitizer"),
            "{name}: sanitizer report\n{}",
            describe(&output)
        );
        match name {
            "example" => assert_example_ran("under ASan", &output),
            _ => {
                assert_passed(name, "under ASan", &output);
            }
        }
    }
}

/// valgrind's summary counts, or a panic naming what is missing.
fn valgrind_counts(name: &str, output: &Output) -> (u64, u64) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let number_after = |marker: &str| -> Option<u64> {
        let line = stderr.lines().rev().find(|l| l.contains(marker))?;
        let rest = &line[line.find(marker)? + marker.len()..];
        rest.trim()
            .split(|c: char| !c.is_ascii_digit() && c != ',')
            .next()?
            .replace(',', "")
            .parse()
            .ok()
    };
    let errors = number_after("ERROR SUMMARY:")
        .unwrap_or_else(|| panic!("{name}: no valgrind ERROR SUMMARY\n{}", describe(output)));
    // "All heap blocks were freed -- no leaks are possible" has no LEAK SUMMARY at all.
    let definite = number_after("definitely lost:").unwrap_or(0);
    (errors, definite)
}

#[test]
fn c_programs_pass_under_valgrind() {
    let Some(gcc) = tool_or_skip("gcc", "gcc") else {
        return;
    };
    let Some(valgrind) = tool_or_skip("valgrind", "valgrind") else {
        return;
    };
    for name in CHECKED_PROGRAMS {
        let exe = compile(&gcc, name, Build::Plain);
        let mut command = Command::new(&valgrind);
        command
            .args([
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
            ])
            .arg(exe)
            // A debug build under valgrind needs minutes to normalise a 10 MiB password: the
            // valgrind run uses 1 MiB for the "10 MiB" inputs (plain and ASan runs use 10), and
            // fewer rounds and a shorter measurement in the threads program.
            .env("DAGU_AUTH_C_HUGE_MIB", "1")
            .env("DAGU_AUTH_C_ROUNDS", "20")
            .env("DAGU_AUTH_C_BENCH_MS", "200");
        let output = run_program(command);
        let (errors, definite) = valgrind_counts(name, &output);
        assert_eq!(errors, 0, "{name}: valgrind errors\n{}", describe(&output));
        assert_eq!(
            definite,
            0,
            "{name}: definitely lost bytes\n{}",
            describe(&output)
        );
        assert_passed(name, "under valgrind", &output);
        println!("  valgrind: {errors} errors, {definite} bytes definitely lost");
    }
}

#[test]
fn every_header_function_is_called_with_bad_input_by_the_c_programs() {
    let functions = header_functions();
    assert!(
        functions.len() >= 20,
        "found only {functions:?} in the header"
    );
    let source = fs::read_to_string(c_dir().join("api_calls.c")).expect("read api_calls.c");
    let missing: Vec<_> = functions
        .iter()
        .filter(|name| {
            let call = format!("{name}(");
            let calls = source.matches(&call).count();
            // Functions taking no pointers have no NULL to feed; the others must be called at
            // least once with NULL (the happy path plus the bad inputs means several calls).
            let takes_pointers = !matches!(
                name.as_str(),
                "dagu_auth_abi_version" | "dagu_auth_version" | "dagu_auth_status_name"
            );
            let with_null = source.contains(&format!("{name}(NULL"))
                || source
                    .split(&call)
                    .skip(1)
                    .any(|args| args.split(')').next().unwrap_or("").contains("NULL"));
            calls == 0 || (takes_pointers && !with_null)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "tests/c/api_calls.c does not call these header functions (with a NULL argument): {missing:?}"
    );
}

/// The fenced code blocks of the README, by language.
fn readme_blocks() -> Vec<(String, String)> {
    let text = fs::read_to_string(c_dir().join("../../README.md")).expect("read README.md");
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(language)) => current = Some((language.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

#[test]
fn readme_section_examples_are_the_tested_files() {
    let blocks = readme_blocks();
    let example_c = fs::read_to_string(c_dir().join("example.c")).expect("read example.c");
    let example_go = fs::read_to_string(workspace_root().join("tests/go/example/main.go"))
        .expect("read tests/go/example/main.go");
    let c_blocks: Vec<_> = blocks.iter().filter(|(lang, _)| lang == "c").collect();
    let go_blocks: Vec<_> = blocks.iter().filter(|(lang, _)| lang == "go").collect();
    assert_eq!(c_blocks.len(), 1, "one ```c block in README.md");
    assert_eq!(go_blocks.len(), 1, "one ```go block in README.md");
    assert!(
        c_blocks[0].1 == example_c,
        "the C block of README.md differs from tests/c/example.c"
    );
    assert!(
        go_blocks[0].1 == example_go,
        "the Go block of README.md differs from tests/go/example/main.go"
    );
}
