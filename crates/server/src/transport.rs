//! Reading JSON-RPC messages from standard input, robustly.
//!
//! lsp-server's own stdio transport ends the reader thread on the first malformed
//! message, which ends the server. Here a malformed header is skipped, a body that is not
//! JSON is answered with a parse error (JSON-RPC's -32700, id null), and JSON that is not
//! a message with an invalid-request error; only the end of input ends the reader.

use lsp_server::Message;
use std::io::{BufRead, Read};

/// Bodies larger than this are skipped unread (no editor sends one; a wrong
/// `Content-Length` must not make the server allocate gigabytes).
pub const MAX_BODY: usize = 256 * 1024 * 1024;

/// What the reader passes to the server loop.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// Not JSON: answer with a parse error.
    ParseError(String),
    /// JSON but not a message: answer with an invalid request error (with the id, when
    /// there is one).
    Invalid {
        id: Option<serde_json::Value>,
        error: String,
    },
    /// Something skipped, for the log.
    Skipped(String),
    /// End of input.
    Closed,
}

/// Reads one framed message. `None` at the end of input.
pub fn read_one(r: &mut impl BufRead) -> Option<Incoming> {
    let mut length: Option<usize> = None;
    let mut bad_header = None;
    loop {
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line).ok()?;
        if n == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if length.is_some() || bad_header.is_some() {
                break;
            }
            // Blank lines between messages.
            continue;
        }
        match text.split_once(':') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("content-length") => {
                match v.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad_header = Some(format!("bad Content-Length `{}`", v.trim())),
                }
            }
            Some(_) => {}
            None => bad_header = Some(format!("malformed header line `{text}`")),
        }
    }
    let Some(len) = length else {
        return Some(Incoming::Skipped(
            bad_header.unwrap_or_else(|| "a message without Content-Length".to_owned()),
        ));
    };
    if len > MAX_BODY {
        let mut sink = std::io::sink();
        let copied = std::io::copy(&mut r.take(len as u64), &mut sink).ok()?;
        if (copied as usize) < len {
            return None;
        }
        return Some(Incoming::Skipped(format!("a message of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(decode(&body))
}

/// Decodes a message body.
pub fn decode(body: &[u8]) -> Incoming {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Incoming::ParseError(e.to_string()),
    };
    let id = value.get("id").cloned();
    // lsp-server's `Message` is untagged: `{"id": 1, "method": 7}` would read as a
    // response. A message with a method must name it with a string; one without must
    // carry a result or an error.
    let shape_ok = match value.get("method") {
        Some(m) => m.is_string(),
        None => value.get("result").is_some() || value.get("error").is_some(),
    };
    if !value.is_object() || !shape_ok {
        return Incoming::Invalid {
            id,
            error: "not a request, notification or response".to_owned(),
        };
    }
    match serde_json::from_value::<Message>(value) {
        Ok(m) => Incoming::Message(m),
        Err(e) => Incoming::Invalid {
            id,
            error: e.to_string(),
        },
    }
}

/// Spawns the thread reading standard input into `tx`.
pub fn spawn_stdin_reader(tx: std::sync::mpsc::Sender<Incoming>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("djcheck-lsp-reader".to_owned())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            while let Some(m) = read_one(&mut lock) {
                let exit =
                    matches!(&m, Incoming::Message(Message::Notification(n)) if n.method == "exit");
                if tx.send(m).is_err() || exit {
                    return;
                }
            }
            let _ = tx.send(Incoming::Closed);
        })
        .map(|_| ())
}

/// Frames a JSON value as a message.
pub fn frame(value: &serde_json::Value) -> Vec<u8> {
    let body = value.to_string();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str) -> Vec<String> {
        let mut r = std::io::Cursor::new(input.as_bytes().to_vec());
        let mut out = Vec::new();
        while let Some(m) = read_one(&mut r) {
            out.push(match m {
                Incoming::Message(m) => format!("message {}", serde_json::to_string(&m).unwrap()),
                Incoming::ParseError(_) => "parse error".to_owned(),
                Incoming::Invalid { id, .. } => format!("invalid {id:?}"),
                Incoming::Skipped(s) => format!("skipped {s}"),
                Incoming::Closed => "closed".to_owned(),
            });
        }
        out
    }

    #[test]
    fn malformed_input_is_reported_and_reading_goes_on() {
        let ok = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "Content-Length: 5\r\n\r\n{{bad}}Content-Length: x\r\n\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}Content-Length: {}\r\n\r\n{ok}",
            ok.len()
        );
        let got = read_all(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], "parse error");
        assert!(got[1].starts_with("skipped bad Content-Length"), "{got:?}");
        assert_eq!(got[2], "invalid None");
        assert!(got[3].starts_with("message "), "{got:?}");
    }

    #[test]
    fn a_truncated_body_ends_the_input() {
        assert!(read_all("Content-Length: 50\r\n\r\n{}").is_empty());
    }
}
