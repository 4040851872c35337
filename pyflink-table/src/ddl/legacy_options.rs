//! The option keys of Flink 1.10 / 1.11's connector and format descriptors (`connector.type`,
//! `connector.topic`, `connector.url`, `format.type`, ...), read as the keys of today's
//! connectors, with a deprecation warning, so that tables declared for those versions work as
//! they were written.
//!
//! Flink 1.10's JDBC sink upserted by the query's unique key (the GROUP BY keys) when the
//! table had no primary key, which old jobs rely on: a `jdbc` table declared with the legacy
//! keys and no primary key keeps that behaviour ([`LegacyOptions::upsert_by_query_key`]).

use std::collections::BTreeMap;

/// A table's options after translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegacyOptions {
    /// The options under today's keys.
    pub(crate) options: BTreeMap<String, String>,
    /// Whether the sink writes updates by the query's unique key when the table declares no
    /// primary key (Flink 1.10's JDBC upsert sink).
    pub(crate) upsert_by_query_key: bool,
}

/// Today's key of each legacy key of a connector, by `connector.type`.
fn connector_key(connector: &str, key: &str) -> Option<String> {
    let renamed = match (connector, key) {
        ("jdbc", "connector.url") => "url",
        ("jdbc", "connector.table") => "table-name",
        ("jdbc", "connector.driver") => "driver",
        ("jdbc", "connector.username") => "username",
        ("jdbc", "connector.password") => "password",
        ("jdbc", "connector.read.partition.column") => "scan.partition.column",
        ("jdbc", "connector.read.partition.num") => "scan.partition.num",
        ("jdbc", "connector.read.partition.lower-bound") => "scan.partition.lower-bound",
        ("jdbc", "connector.read.partition.upper-bound") => "scan.partition.upper-bound",
        ("jdbc", "connector.read.fetch-size") => "scan.fetch-size",
        ("jdbc", "connector.lookup.cache.max-rows") => "lookup.cache.max-rows",
        ("jdbc", "connector.lookup.cache.ttl") => "lookup.cache.ttl",
        ("jdbc", "connector.lookup.max-retries") => "lookup.max-retries",
        ("jdbc", "connector.write.flush.max-rows") => "sink.buffer-flush.max-rows",
        ("jdbc", "connector.write.flush.interval") => "sink.buffer-flush.interval",
        ("jdbc", "connector.write.max-retries") => "sink.max-retries",
        ("kafka", "connector.topic") => "topic",
        ("kafka", "connector.startup-mode") => "scan.startup.mode",
        ("kafka", "connector.specific-offsets") => "scan.startup.specific-offsets",
        ("kafka", "connector.startup-timestamp-millis") => "scan.startup.timestamp-millis",
        ("kafka", "connector.sink-partitioner") => "sink.partitioner",
        ("kafka", "connector.sink-partitioner-class") => "sink.partitioner",
        ("filesystem", "connector.path") => "path",
        _ => {
            // `connector.properties.k = v`: the client property `k`.
            let property = key.strip_prefix("connector.properties.")?;
            return (connector == "kafka").then(|| format!("properties.{property}"));
        }
    };
    Some(renamed.to_string())
}

/// Keys that meant something to the JVM connectors and nothing here: dropped.
fn is_dropped(key: &str) -> bool {
    matches!(
        key,
        "connector.version"
            | "connector.property-version"
            | "format.property-version"
            | "format.derive-schema"
            | "update-mode"
            // ZooKeeper addresses were for Kafka 0.8's consumer; clients today refuse the key.
            | "connector.properties.zookeeper.connect"
    ) || key.starts_with("format.fields.")
        || key.starts_with("format.schema")
}

/// The options of table `table` under today's keys, if they are the legacy keys (a
/// `connector.type` and no `connector`); `None` if they are not.
pub(crate) fn translate(table: &str, options: &BTreeMap<String, String>) -> Option<LegacyOptions> {
    if options.contains_key("connector") {
        return None;
    }
    let connector = options.get("connector.type")?.trim().to_ascii_lowercase();
    let format = options.get("format.type").map(|format| format.trim().to_ascii_lowercase());
    let mut translated = BTreeMap::new();
    translated.insert("connector".to_string(), connector.clone());
    let mut renamed = Vec::new();
    // The indexed form of Flink 1.9's properties: `connector.properties.0.key` / `.value`.
    let mut indexed: BTreeMap<&str, (Option<&str>, Option<&str>)> = BTreeMap::new();
    for (key, value) in options {
        if key == "connector.type" {
            continue;
        }
        if let Some(rest) = key.strip_prefix("connector.properties.") {
            if let Some((index, part)) = rest.split_once('.') {
                if index.chars().all(|c| c.is_ascii_digit()) && (part == "key" || part == "value") {
                    let entry = indexed.entry(index).or_default();
                    if part == "key" {
                        entry.0 = Some(value);
                    } else {
                        entry.1 = Some(value);
                    }
                    continue;
                }
            }
        }
        if is_dropped(key) {
            renamed.push(format!("{key} (no longer used)"));
            continue;
        }
        let new_key = match (key.as_str(), &format) {
            ("format.type", Some(format)) => {
                translated.insert("format".to_string(), format.clone());
                renamed.push(format!("{key} -> format"));
                continue;
            }
            (key, Some(format)) if key.starts_with("format.") => Some(format!("{format}.{}", &key["format.".len()..])),
            (key, _) => connector_key(&connector, key),
        };
        match new_key {
            Some(new_key) => {
                renamed.push(format!("{key} -> {new_key}"));
                translated.insert(new_key, value.clone());
            }
            // Left as written: the connector names it among the options it does not know.
            None => {
                translated.insert(key.clone(), value.clone());
            }
        }
    }
    for (key, value) in indexed.into_values() {
        if let (Some(key), Some(value)) = (key, value) {
            if !is_dropped(&format!("connector.properties.{key}")) {
                translated.insert(format!("properties.{key}"), value.to_string());
            }
        }
    }
    tracing::warn!(
        "table '{table}' is declared with the deprecated option keys of Flink 1.10/1.11 (connector.type = \
         '{connector}'); they are read as today's keys: {}. Declare it with 'connector' = '{connector}' and these keys",
        renamed.join(", ")
    );
    Some(LegacyOptions { options: translated, upsert_by_query_key: connector == "jdbc" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn the_flagship_jobs_kafka_and_jdbc_tables_read_as_todays_options() {
        let kafka = translate(
            "cdn_access_log",
            &options(&[
                ("connector.type", "kafka"),
                ("connector.version", "universal"),
                ("connector.topic", "cdn_access_log"),
                ("connector.properties.zookeeper.connect", "localhost:2181"),
                ("connector.properties.bootstrap.servers", "localhost:9092"),
                ("format.type", "csv"),
                ("format.ignore-parse-errors", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(
            kafka.options,
            options(&[
                ("connector", "kafka"),
                ("topic", "cdn_access_log"),
                ("properties.bootstrap.servers", "localhost:9092"),
                ("format", "csv"),
                ("csv.ignore-parse-errors", "true"),
            ])
        );
        assert!(!kafka.upsert_by_query_key);
        let jdbc = translate(
            "cdn_access_statistic",
            &options(&[
                ("connector.type", "jdbc"),
                ("connector.url", "jdbc:mysql://localhost:3306/Flink"),
                ("connector.table", "cdn_access_statistic"),
                ("connector.username", "root"),
                ("connector.password", "root"),
                ("connector.write.flush.interval", "1s"),
            ]),
        )
        .unwrap();
        assert_eq!(
            jdbc.options,
            options(&[
                ("connector", "jdbc"),
                ("url", "jdbc:mysql://localhost:3306/Flink"),
                ("table-name", "cdn_access_statistic"),
                ("username", "root"),
                ("password", "root"),
                ("sink.buffer-flush.interval", "1s"),
            ])
        );
        assert!(jdbc.upsert_by_query_key);
    }

    #[test]
    fn todays_keys_and_indexed_properties() {
        assert_eq!(translate("t", &options(&[("connector", "jdbc"), ("connector.type", "jdbc")])), None);
        let indexed = translate(
            "t",
            &options(&[
                ("connector.type", "kafka"),
                ("connector.properties.0.key", "group.id"),
                ("connector.properties.0.value", "cdn"),
                ("connector.unknown", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(
            indexed.options,
            options(&[("connector", "kafka"), ("properties.group.id", "cdn"), ("connector.unknown", "x")])
        );
    }
}
