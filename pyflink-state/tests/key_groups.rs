//! Key groups of a fixed set of keys against a recorded table.
//!
//! A key's group decides where its state lives in every checkpoint. If this test fails, the key
//! encoding changed: checkpoints taken before the change would restore their state into groups
//! that no instance looks in. Do not update the table; keep the encoding, or raise
//! `KEY_ENCODING_VERSION` (old checkpoints are then refused with a clear error) and record the new
//! table.

use serde::Serialize;

use pyflink_state::key_encoding::{key_hash, KEY_ENCODING_VERSION};
use pyflink_state::key_group::key_group_for_key;

#[derive(Serialize)]
struct UserKey {
    tenant: u32,
    user: String,
}

#[derive(Serialize)]
enum Region {
    Eu,
    Us(u8),
}

/// (what, hash, key group of 128, key group of 100) of every key.
fn computed() -> Vec<(&'static str, u64, usize, usize)> {
    fn row<K: Serialize + ?Sized>(what: &'static str, key: &K) -> (&'static str, u64, usize, usize) {
        (what, key_hash(key), key_group_for_key(key, 128), key_group_for_key(key, 100))
    }
    vec![
        row("\"\"", ""),
        row("\"a\"", "a"),
        row("\"alice\"", "alice"),
        row("\"pyflink-rs\"", "pyflink-rs"),
        row("\"ключ\"", "ключ"),
        row("0i64", &0i64),
        row("1i64", &1i64),
        row("-1i64", &-1i64),
        row("i64::MAX", &i64::MAX),
        row("42i32", &42i32),
        row("7u8", &7u8),
        row("true", &true),
        row("'x'", &'x'),
        row("(\"a\", 1i64)", &("a", 1i64)),
        row("(1i64, 2i64, 3i64)", &(1i64, 2i64, 3i64)),
        row("Some(\"x\")", &Some("x")),
        row("None::<String>", &None::<String>),
        row("vec![\"a\", \"b\"]", &vec!["a", "b"]),
        row("UserKey", &UserKey { tenant: 3, user: "bob".into() }),
        row("Region::Eu", &Region::Eu),
        row("Region::Us(2)", &Region::Us(2)),
    ]
}

const RECORDED: &[(&str, u64, usize, usize)] = &[
    ("\"\"", 12819011691522796655, 111, 55),
    ("\"a\"", 6983345028103862509, 109, 9),
    ("\"alice\"", 2342699826459906745, 57, 45),
    ("\"pyflink-rs\"", 18181666017386226934, 118, 34),
    ("\"ключ\"", 13475052784394887836, 28, 36),
    ("0i64", 0, 0, 0),
    ("1i64", 4028701401546325202, 82, 2),
    ("-1i64", 10590618499855609741, 13, 41),
    ("i64::MAX", 16057142390074098180, 4, 80),
    ("42i32", 2690997780454943606, 118, 6),
    ("7u8", 2180297486836056586, 10, 86),
    ("true", 4028701401546325202, 82, 2),
    ("'x'", 13113110454458038542, 14, 42),
    ("(\"a\", 1i64)", 9674891378660673089, 65, 89),
    ("(1i64, 2i64, 3i64)", 14977689850463394993, 49, 93),
    ("Some(\"x\")", 12408386142326533498, 122, 98),
    ("None::<String>", 0, 0, 0),
    ("vec![\"a\", \"b\"]", 3027131366094263738, 58, 38),
    ("UserKey", 10018410164001370990, 110, 90),
    ("Region::Eu", 0, 0, 0),
    ("Region::Us(2)", 6531930117276294699, 43, 99),
];

#[test]
fn key_groups_equal_the_recorded_table() {
    assert_eq!(KEY_ENCODING_VERSION, 1, "a new key encoding version needs a new recorded table");
    let computed = computed();
    assert_eq!(computed, RECORDED, "key groups changed; computed table:\n{computed:#?}");
}
