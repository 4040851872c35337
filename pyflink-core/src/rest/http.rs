//! Just enough HTTP/1.1 for the REST API: one request per connection (method, path, query and
//! a body of `Content-Length` bytes), answered with JSON and closed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The largest request head and body read, against clients that send without end.
const MAX_REQUEST: usize = 64 * 1024;

/// A parsed request.
#[derive(Debug, PartialEq)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The path's segments, without empty ones (`/jobs/x/` is `["jobs", "x"]`).
    pub(crate) path: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The value of query parameter `name`, if given.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// An answer: status code and JSON body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: serde_json::Value,
}

impl Response {
    pub(crate) fn ok(body: serde_json::Value) -> Self {
        Response { status: 200, body }
    }

    pub(crate) fn accepted(body: serde_json::Value) -> Self {
        Response { status: 202, body }
    }

    /// An error in Flink's shape: `{"errors": [message]}`.
    pub(crate) fn error(status: u16, message: impl Into<String>) -> Self {
        Response { status, body: serde_json::json!({ "errors": [message.into()] }) }
    }
}

/// Reads one request from `stream`; `None` when it is not HTTP this parser understands.
pub(crate) fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if data.len() > MAX_REQUEST {
            return Ok(None);
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buffer[..read]);
    };
    let Ok(head) = std::str::from_utf8(&data[..head_end]) else { return Ok(None) };
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else { return Ok(None) };
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return Ok(None);
    }
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..read]);
    }
    body.truncate(length);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: method.to_string(),
        path: path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        query: query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_string(), value.to_string())
            })
            .collect(),
        body,
    }))
}

/// Writes `response` to `stream` as JSON.
pub(crate) fn write_response(stream: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
    let body = response.body.to_string();
    write!(
        stream,
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\n\
         Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n{body}",
        response.status,
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Sends `raw` to a fresh listener and parses what arrives.
    fn parse(raw: &'static [u8]) -> Option<Request> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let sender = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(address).unwrap();
            stream.write_all(raw).unwrap();
            stream
        });
        let (mut stream, _) = listener.accept().unwrap();
        let request = read_request(&mut stream).unwrap();
        drop(sender.join().unwrap());
        request
    }

    #[test]
    fn requests_give_their_method_path_query_and_body() {
        let request = parse(b"POST /v1/jobs/ab/stop/?mode=x&flag HTTP/1.1\r\nContent-length: 4\r\n\r\n{\"a\"").unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, ["v1", "jobs", "ab", "stop"]);
        assert_eq!((request.query("mode"), request.query("flag"), request.query("none")), (Some("x"), Some(""), None));
        assert_eq!(request.body, b"{\"a\"");
    }

    #[test]
    fn what_is_not_http_is_refused() {
        assert_eq!(parse(b"hello\r\n\r\n"), None);
        assert_eq!(parse(b"GET /x HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"), None);
    }
}
