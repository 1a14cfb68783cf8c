//! Criterion benches of the hot paths: replaying a vault (every command
//! does it) at growing sizes, building a deposit (HPKE seal), opening one
//! (HPKE open), checking a share, and Argon2id at the floor and the
//! defaults. `cargo bench -p vault-core`; whole-process figures are in
//! bench/run.sh and docs/PERFORMANCE.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use secrecy::SecretString;
use vault_core::entry::{EntryKind, EntrySecret};
use vault_core::log;
use vault_core::passphrase::{KdfParams, WrappedShare};
use vault_core::share_text;
use vault_core::vault::{create, DepositMeta, InitSpec, Vault};
use zeroize::Zeroizing;

fn spec() -> InitSpec {
    InitSpec::new("bench", 2, ["a", "b"])
        .with_actor("bench")
        .with_time(1_795_478_400)
        .with_kdf(KdfParams::FLOOR)
}

fn key(i: usize) -> EntrySecret {
    let a = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let s: String = (0..24)
        .map(|j| a[(i * 7 + j * 13) % a.len()] as char)
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-");
    EntrySecret {
        username: Zeroizing::new(String::new()),
        secret: Zeroizing::new(s.into_bytes()),
    }
}

/// A vault file with `n` FileVault-style entries, and its shares.
fn vault_with(n: usize) -> (Vec<u8>, Vec<Zeroizing<String>>) {
    let created = create(&spec(), &[None, None]).unwrap();
    let mut vault = Vault::replay(&log::parse(&created.bytes).unwrap()).unwrap();
    let mut bytes = created.bytes.clone();
    for i in 0..n {
        let meta = DepositMeta {
            device: Some(format!("C02{i:08}X")),
            ..DepositMeta::default()
        };
        let r = vault
            .deposit(
                &format!("filevault-C02{i:08}X"),
                EntryKind::RecoveryKey,
                &key(i),
                &meta,
            )
            .unwrap();
        bytes.extend(vault.push(r).unwrap());
    }
    (bytes, created.shares.into_iter().map(|s| s.text).collect())
}

fn replay(c: &mut Criterion) {
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    for n in [1_000, 10_000] {
        let (bytes, _) = vault_with(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &bytes, |b, bytes| {
            b.iter(|| Vault::replay(&log::parse(bytes).unwrap()).unwrap())
        });
    }
    g.finish();
}

fn deposit_and_reveal(c: &mut Criterion) {
    let (bytes, shares) = vault_with(100);
    let vault = Vault::replay(&log::parse(&bytes).unwrap()).unwrap();
    c.bench_function("deposit (HPKE seal)", |b| {
        b.iter(|| {
            vault
                .deposit(
                    "new",
                    EntryKind::RecoveryKey,
                    &key(1),
                    &DepositMeta::default(),
                )
                .unwrap()
        })
    });
    let keys: Vec<_> = shares
        .iter()
        .map(|t| {
            vault
                .check_share(&share_text::decode(t).unwrap(), None)
                .unwrap()
        })
        .collect();
    let unsealed = vault.open(&keys).unwrap();
    c.bench_function("reveal one (HPKE open)", |b| {
        b.iter(|| {
            unsealed
                .reveal(&vault, "filevault-C0200000050X")
                .unwrap()
                .unwrap()
        })
    });
    c.bench_function("check a plain share (text + commitment)", |b| {
        b.iter(|| {
            vault
                .check_share(&share_text::decode(&shares[0]).unwrap(), None)
                .unwrap()
        })
    });
    c.bench_function("open the vault (combine, key check, escrow key)", |b| {
        b.iter(|| vault.open(&keys).unwrap())
    });
}

fn argon2(c: &mut Criterion) {
    let mut g = c.benchmark_group("argon2id share unlock");
    g.sample_size(10);
    let pass = SecretString::from("a passphrase for benches".to_owned());
    // What a format-2 share binds: the label and the body's public part.
    let aad = [&b"breakglass/v2/share-wrap"[..], &[2, 1, 1, 0, 1], &[1; 15]].concat();
    for (name, params) in [
        ("floor 19MiB-t2-p1", KdfParams::FLOOR),
        ("default 64MiB-t3-p4", KdfParams::DEFAULT),
    ] {
        let w = WrappedShare::seal(&[7; 32], &pass, params, &aad).unwrap();
        g.bench_function(name, |b| b.iter(|| w.open(&pass, &aad).unwrap().unwrap()));
    }
    g.finish();
}

/// A lookup in an index of n deposits with devices (2n rows), from memory:
/// the O(log n) page reads of `unseal --device` and of a deposit.
fn index_lookup(c: &mut Criterion) {
    use vault_core::index::{self, Header, Index, Row, Table};
    let mut g = c.benchmark_group("index lookup");
    for n in [1_000u64, 100_000, 1_000_000] {
        let rows = |f: fn(&str) -> u64| -> Vec<Row> {
            (0..n)
                .map(|i| Row {
                    key: f(&format!("C02{i:08}X")),
                    offset: 10 + i * 228,
                    number: i as u32 + 2,
                })
                .collect()
        };
        let mut tables = [rows(index::label_key), rows(index::device_key), Vec::new()];
        let header = Header {
            genesis: [0; 32],
            covered: 10 + n * 228,
            head: [0; 32],
            records: n as u32 + 1,
            labels: 0,
            devices: 0,
            key_ids: 0,
            last: 0,
        };
        let bytes = index::encode(&header, &mut tables);
        let probe = index::device_key(&format!("C02{:08}X", n / 2));
        g.bench_with_input(BenchmarkId::from_parameter(n), &bytes, |b, bytes| {
            b.iter(|| {
                let mut idx = Index::open(std::io::Cursor::new(bytes.as_slice())).unwrap();
                assert_eq!(idx.find(Table::Devices, probe).unwrap().len(), 1);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, replay, deposit_and_reveal, argon2, index_lookup);
criterion_main!(benches);
