//! A forged `VAULT.index` must never make a write go wrong (issue 15): the
//! index tells a writer where the vault's records end and what the chain
//! head is, and an append through it lands there. Each test forges an
//! index with the library's own encoder, appends with the real binary
//! (`seal`, which reads through the index), and then the whole vault must
//! still replay, with every entry in it.

use vault_core::index::{self, Header, Row};
use vault_core::log::{self, Frame, FRAME_OVERHEAD};
use vault_core::record::Record;
use vault_core::scope::{index_path, rows_of};

use crate::util::{stdout, Env};

/// A vault with three entries and a current index (written by `list`).
fn vault() -> Env {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for label in ["a", "b", "c"] {
        env.seal(label, &format!("{label}-secret"));
    }
    env.run(&["list", "v.bg"], "").success();
    env
}

fn parsed(env: &Env) -> (Vec<u8>, Vec<Frame>) {
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    let parsed = log::parse(&bytes).unwrap();
    assert!(parsed.torn.is_none());
    (bytes, parsed.frames)
}

fn end(frame: &Frame) -> u64 {
    frame.offset + (frame.body.len() + FRAME_OVERHEAD) as u64
}

/// An index claiming `covered`, `head`, `records` and `genesis`, with the
/// rows of every real record that ends by `covered` (so the rows
/// themselves are right; only the header lies).
fn forge(env: &Env, genesis: [u8; 32], covered: u64, head: [u8; 32], records: u32) {
    let (_, frames) = parsed(env);
    let mut tables: index::Tables = Default::default();
    // `last` as a forger would best choose it: the last real record
    // before the claimed end (FORMAT.md §12: a writer's proof).
    let mut last = frames[0].offset;
    for (i, f) in frames.iter().enumerate() {
        if end(f) <= covered {
            let record = Record::decode(f.kind, &f.body).unwrap();
            add_rows(&mut tables, rows_of(&record, f.offset, i + 1));
            last = f.offset;
        }
    }
    let header = Header {
        genesis,
        covered,
        head,
        records,
        labels: 0,
        devices: 0,
        key_ids: 0,
        last,
    };
    let bytes = index::encode(&header, &mut tables);
    std::fs::write(index_path(&env.path("v.bg")), bytes).unwrap();
}

fn add_rows(tables: &mut index::Tables, rows: [Option<Row>; 3]) {
    for (table, row) in tables.iter_mut().zip(rows) {
        table.extend(row);
    }
}

/// After a forged index, one more `seal` (an append through the index)
/// and the vault must replay whole, with the four entries.
fn append_and_check(env: &Env, case: &str) {
    env.run(&["seal", "v.bg", "--label", "d"], "d-secret")
        .success();
    let (_, frames) = parsed(env);
    assert_eq!(frames.len(), 5, "{case}: genesis and four deposits");
    let list = env.run(&["list", "v.bg"], "");
    let out = stdout(&list.success());
    for label in ["a", "b", "c", "d"] {
        assert!(out.contains(label), "{case}: {label} listed:\n{out}");
    }
    eprintln!("forged index ({case}): append landed on the real chain");
}

#[test]
fn index_covering_into_the_last_record_does_not_cut_the_chain() {
    // Covered set just inside the file: the bytes after it are too few to
    // be a record header, so they looked like a torn tail to be cut off.
    for short in [1u64, 5, 8, 32] {
        let env = vault();
        let (bytes, frames) = parsed(&env);
        let covered = bytes.len() as u64 - short;
        let head: [u8; 32] = bytes[covered as usize - 32..covered as usize]
            .try_into()
            .unwrap();
        forge(&env, frames[0].hash, covered, head, frames.len() as u32);
        append_and_check(&env, &format!("covered {short} bytes before the end"));
    }
}

#[test]
fn index_covering_inside_an_earlier_record_is_not_used() {
    let env = vault();
    let (bytes, frames) = parsed(&env);
    // Inside the second deposit: its frame header, its body, its hash.
    let f = &frames[2];
    for covered in [f.offset + 4, f.offset + 40, end(f) - 1] {
        let head: [u8; 32] = bytes[covered as usize - 32..covered as usize]
            .try_into()
            .unwrap();
        forge(&env, frames[0].hash, covered, head, 3);
        let before = std::fs::read(env.path("v.bg")).unwrap();
        env.run(&["list", "v.bg", "--device", "x"], "").success();
        assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
    }
    append_and_check(&env, "covered inside record 3");
}

#[test]
fn index_naming_an_earlier_head_or_a_wrong_length() {
    let env = vault();
    let (bytes, frames) = parsed(&env);
    let len = bytes.len() as u64;
    // The head of record 2 claimed at the real end of the file.
    forge(&env, frames[0].hash, len, frames[1].hash, 4);
    append_and_check(&env, "earlier head at the real end");

    let env = vault();
    let (bytes, frames) = parsed(&env);
    // A real earlier state (what an index written two records ago says):
    // fine to use, the records after it are read and chained.
    forge(&env, frames[0].hash, end(&frames[1]), frames[1].hash, 2);
    append_and_check(&env, "an older but real index");

    let env = vault();
    forge(
        &env,
        frames[0].hash,
        bytes.len() as u64 + 1000,
        frames[3].hash,
        4,
    );
    append_and_check(&env, "covered past the end");
}

#[test]
fn index_of_another_vault_is_not_used() {
    let env = vault();
    let other = vault();
    let (_, theirs) = parsed(&other);
    let (bytes, frames) = parsed(&env);
    forge(
        &env,
        theirs[0].hash,
        bytes.len() as u64,
        frames.last().unwrap().hash,
        4,
    );
    append_and_check(&env, "foreign genesis");
}

/// An index can also lie by omission: rows of entry `a` left out, so a
/// read through it sees no `a`. `seal` then takes `a` for a new label, and
/// a new label is checked against every label (look-alikes) by a whole
/// read, which rebuilds the index before the append: version 3 is written
/// as version 3. (Other writers do not deposit by label through the
/// index: `rotate` refuses an entry it cannot see, `import` replays.)
#[test]
fn index_omitting_an_entrys_rows_does_not_misnumber_its_next_version() {
    let env = vault();
    env.seal("a", "two");
    env.run(&["list", "v.bg"], "").success();
    env.seal("b", "x"); // one record after the index, so it is used
    let (_, frames) = parsed(&env);
    let mut tables: index::Tables = Default::default();
    for (i, f) in frames.iter().enumerate().take(5) {
        let record = Record::decode(f.kind, &f.body).unwrap();
        if matches!(&record, Record::Deposit(d) if d.label == "a") {
            continue;
        }
        add_rows(&mut tables, rows_of(&record, f.offset, i + 1));
    }
    let header = Header {
        genesis: frames[0].hash,
        covered: end(&frames[4]),
        head: frames[4].hash,
        records: 5,
        labels: 0,
        devices: 0,
        key_ids: 0,
        last: frames[4].offset,
    };
    let bytes = index::encode(&header, &mut tables);
    std::fs::write(index_path(&env.path("v.bg")), bytes).unwrap();
    let sealed = env
        .run(&["seal", "v.bg", "--label", "a"], "three")
        .success();
    assert!(stdout(&sealed).contains("version 3"), "{}", stdout(&sealed));
    let (_, frames) = parsed(&env);
    assert_eq!(frames.len(), 7);
    env.run(&["list", "v.bg"], "").success();
}
