//! First-admin setup under a race across processes: two host-demo processes on one data folder,
//! 50 concurrent setup calls split between them, exactly one admin (README, "Security model").

use std::sync::{Arc, Barrier};

use dagu_auth_tests::{Abi, HostDemo, HostOptions, api};
use serde_json::json;

const CALLS: usize = 50;

#[test]
fn fifty_setups_across_two_processes_on_one_data_dir_create_exactly_one_admin() {
    let dir = tempfile::tempdir().expect("data dir");
    let hosts = [
        HostDemo::start(HostOptions::new(Abi::Rust).data_dir(dir.path())),
        HostDemo::start(HostOptions::new(Abi::C).data_dir(dir.path())),
    ];
    let barrier = Arc::new(Barrier::new(CALLS));
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLS)
            .map(|i| {
                let (client, barrier) = (hosts[i % 2].client(), Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    let response =
                        api::setup(client, &format!("admin{i}"), "a-long-setup-password");
                    let body = if response.status == 200 {
                        response.json()
                    } else {
                        json!(null)
                    };
                    (response.status, body)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("setup thread"))
            .collect()
    });
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    let winners = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 403).count();
    assert_eq!((winners, refused), (1, CALLS - 1), "statuses: {statuses:?}");

    // The winner's token works on both processes, and both see one admin and no setup to do.
    let winner = answers
        .iter()
        .find_map(|(_, body)| body["token"].as_str().map(str::to_owned))
        .expect("the winning setup answered a token");
    for host in &hosts {
        assert_eq!(
            host.client().get("/api/v1/auth/setup", None).json(),
            json!({"setupRequired": false})
        );
        let users = host.client().get("/api/v1/users", Some(&winner)).json();
        assert_eq!(users["users"].as_array().map(Vec::len), Some(1));
    }
}
