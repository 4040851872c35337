//! JDBC URLs, as Flink jobs write them (`jdbc:mysql://localhost:3306/db`,
//! `jdbc:postgresql://host/db?user=u`), read into what a native driver connects with.

use std::collections::BTreeMap;

use super::dialect::Dialect;

/// Where a JDBC URL points: the database's kind, server and name, and the URL's properties
/// (`?user=..&password=..`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JdbcUrl {
    pub(crate) dialect: Dialect,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The database (MySQL: the default schema), if the URL names one.
    pub(crate) database: Option<String>,
    pub(crate) properties: BTreeMap<String, String>,
}

impl JdbcUrl {
    /// Reads `url`; the error says what a URL of this connector looks like.
    pub(crate) fn parse(url: &str) -> Result<JdbcUrl, String> {
        let invalid = |why: &str| {
            format!(
                "invalid JDBC URL '{url}': {why}; expected 'jdbc:mysql://host:port/database' (also 'jdbc:mariadb:') \
                 or 'jdbc:postgresql://host:port/database'"
            )
        };
        let Some(rest) = url.trim().strip_prefix("jdbc:") else {
            return Err(invalid("it does not start with 'jdbc:'"));
        };
        let (scheme, rest) = rest.split_once("://").ok_or_else(|| invalid("no '://' after the database kind"))?;
        let dialect = match scheme {
            "mysql" | "mariadb" => Dialect::MySql,
            "postgresql" | "postgres" => Dialect::Postgres,
            other => return Err(invalid(&format!("databases of kind '{other}' are not supported"))),
        };
        let (address_and_path, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (address, path) = match address_and_path.split_once('/') {
            Some((address, path)) => (address, path),
            None => (address_and_path, ""),
        };
        // Several hosts (fail-over lists) are a driver feature of their own: the first is used.
        let address = address.split(',').next().unwrap_or_default();
        let (host, port) = split_host_port(address).ok_or_else(|| invalid("the port is not a number"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = port.unwrap_or(match dialect {
            Dialect::MySql => 3306,
            Dialect::Postgres => 5432,
        });
        let database = Some(path.trim_end_matches('/')).filter(|name| !name.is_empty()).map(str::to_string);
        let mut properties = BTreeMap::new();
        for pair in query.into_iter().flat_map(|query| query.split('&')).filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            properties.insert(key.to_string(), value.to_string());
        }
        Ok(JdbcUrl { dialect, host, port, database, properties })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(address: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().ok()?),
            None => None,
        };
        return Some((host.to_string(), port));
    }
    match address.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), Some(port.parse().ok()?))),
        None => Some((address.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_both_databases_are_read_with_their_default_ports() {
        let url = JdbcUrl::parse("jdbc:mysql://localhost:3307/flink?useSSL=false&user=u").unwrap();
        assert_eq!(url.dialect, Dialect::MySql);
        assert_eq!((url.host.as_str(), url.port, url.database.as_deref()), ("localhost", 3307, Some("flink")));
        assert_eq!(url.properties.get("user").map(String::as_str), Some("u"));
        let url = JdbcUrl::parse("jdbc:postgresql://db.example/analytics").unwrap();
        assert_eq!((url.dialect, url.port, url.database.as_deref()), (Dialect::Postgres, 5432, Some("analytics")));
        let url = JdbcUrl::parse("jdbc:mariadb://[::1]").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.database), ("::1", 3306, None));
    }

    #[test]
    fn a_bad_url_says_what_a_good_one_looks_like() {
        for (url, why) in [
            ("mysql://localhost/db", "does not start with 'jdbc:'"),
            ("jdbc:oracle://localhost/db", "kind 'oracle'"),
            ("jdbc:mysql://localhost:port/db", "port is not a number"),
            ("jdbc:mysql:///db", "no host"),
        ] {
            let error = JdbcUrl::parse(url).unwrap_err();
            assert!(error.contains(why) && error.contains("jdbc:postgresql://host:port/database"), "{error}");
        }
    }
}
