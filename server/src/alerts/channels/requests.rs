//! The HTTP request each channel type makes of a [`Message`], in the shape
//! its service documents, built without sending anything so that every
//! shape is tested as data.

use app::alerts::AlertState;
use reqwest::Method;
use serde_json::{json, Value};

use super::super::config::{NotifyConfig, NotifyKind};
use super::super::message::{rfc3339, Message, Reason};

/// One request to make.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: String,
    /// Besides `Content-Type` (from the body).
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    Json(Value),
    Text { content_type: &'static str, text: String },
}

/// How long Alertmanager holds a firing alert that is not posted again:
/// Vigil posts every minute, so four missed posts resolve it there.
pub(crate) const AM_VALID_MS: i64 = 4 * 60_000;

/// `base` and `path` with one slash between.
fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// At most `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The title and text together, for services with one text field.
fn whole(m: &Message) -> String {
    format!("{}\n\n{}", m.title(), m.text())
}

/// The request for `m` on a channel of `config`'s type (not email).
/// `secret` is the channel's token; `key` names the message uniquely and
/// stays the same across retries (Matrix needs it to drop duplicates).
pub(crate) fn request(config: &NotifyConfig, secret: Option<&str>, m: &Message, key: &str) -> Result<Outgoing, String> {
    let url = config.url.as_deref();
    let bearer = |headers: &mut Vec<(&'static str, String)>| {
        if let Some(token) = secret {
            headers.push(("Authorization", format!("Bearer {token}")));
        }
    };
    let mut headers = Vec::new();
    let need = |what: &str| format!("no {what}");
    let out = match config.kind {
        NotifyKind::Webhook => {
            bearer(&mut headers);
            let body = match &config.body {
                Some(template) => templated(template, m)?,
                None => Body::Json(webhook_json(m)),
            };
            Outgoing {
                method: Method::POST,
                url: url.ok_or_else(|| need("url"))?.to_string(),
                headers,
                body,
            }
        }
        NotifyKind::Ntfy => {
            bearer(&mut headers);
            let priority = config.priority.unwrap_or(match m.reason {
                Reason::Firing => 4,
                _ => 3,
            });
            let tags = match m.reason {
                Reason::Firing => ["rotating_light"],
                Reason::Resolved => ["white_check_mark"],
                Reason::Test => ["test_tube"],
            };
            Outgoing {
                method: Method::POST,
                url: url.unwrap_or("https://ntfy.sh").to_string(),
                headers,
                body: Body::Json(json!({
                    "topic": config.topic,
                    "title": cut(&m.title(), 250),
                    "message": cut(&m.text(), 4000),
                    "priority": priority,
                    "tags": tags,
                })),
            }
        }
        NotifyKind::Telegram => {
            let token = secret.ok_or_else(|| need("bot token"))?;
            Outgoing {
                method: Method::POST,
                url: join(
                    url.unwrap_or("https://api.telegram.org"),
                    &format!("bot{token}/sendMessage"),
                ),
                headers,
                body: Body::Json(json!({
                    "chat_id": config.chat_id,
                    "text": cut(&whole(m), 4096),
                    "disable_web_page_preview": true,
                })),
            }
        }
        NotifyKind::Discord => {
            let color = match m.reason {
                Reason::Firing => 0xd93f0b,
                Reason::Resolved => 0x2da44e,
                Reason::Test => 0x6e7781,
            };
            Outgoing {
                method: Method::POST,
                url: url.ok_or_else(|| need("url"))?.to_string(),
                headers,
                body: Body::Json(json!({
                    "username": "Vigil",
                    "content": cut(&m.title(), 2000),
                    "embeds": [{
                        "title": cut(&m.title(), 256),
                        "description": cut(&m.text(), 4096),
                        "color": color,
                        "timestamp": rfc3339(m.ts),
                    }],
                    "allowed_mentions": { "parse": [] },
                })),
            }
        }
        NotifyKind::Slack => Outgoing {
            method: Method::POST,
            url: url.ok_or_else(|| need("url"))?.to_string(),
            headers,
            body: Body::Json(json!({
                "text": cut(&m.title(), 3000),
                "blocks": [
                    { "type": "header", "text": { "type": "plain_text", "text": cut(&m.title(), 150) } },
                    { "type": "section", "text": { "type": "mrkdwn", "text": cut(&slack_escape(&m.text()), 3000) } },
                ],
            })),
        },
        NotifyKind::Teams => Outgoing {
            method: Method::POST,
            url: url.ok_or_else(|| need("url"))?.to_string(),
            headers,
            body: Body::Json(json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            { "type": "TextBlock", "text": m.title(), "weight": "Bolder", "size": "Medium", "wrap": true },
                            { "type": "TextBlock", "text": m.text(), "wrap": true },
                        ],
                    },
                }],
            })),
        },
        NotifyKind::Gotify => {
            headers.push(("X-Gotify-Key", secret.ok_or_else(|| need("app token"))?.to_string()));
            let priority = config.priority.unwrap_or(match m.reason {
                Reason::Firing => 8,
                _ => 4,
            });
            Outgoing {
                method: Method::POST,
                url: join(url.ok_or_else(|| need("url"))?, "message"),
                headers,
                body: Body::Json(json!({ "title": m.title(), "message": m.text(), "priority": priority })),
            }
        }
        NotifyKind::Matrix => {
            bearer(&mut headers);
            let room = config.room.as_deref().ok_or_else(|| need("room"))?;
            let path = format!(
                "_matrix/client/v3/rooms/{}/send/m.room.message/vigil-{}",
                url_escape(room),
                url_escape(key)
            );
            Outgoing {
                method: Method::PUT,
                url: join(url.ok_or_else(|| need("url"))?, &path),
                headers,
                body: Body::Json(json!({ "msgtype": "m.text", "body": whole(m) })),
            }
        }
        NotifyKind::Pushover => {
            let priority = config.priority.unwrap_or(match m.reason {
                Reason::Firing => 1,
                _ => 0,
            });
            Outgoing {
                method: Method::POST,
                url: join(url.unwrap_or("https://api.pushover.net"), "1/messages.json"),
                headers,
                body: Body::Json(json!({
                    "token": secret.ok_or_else(|| need("app token"))?,
                    "user": config.user,
                    "title": cut(&m.title(), 250),
                    "message": cut(&m.text(), 1024),
                    "priority": priority,
                    "timestamp": m.ts / 1000,
                })),
            }
        }
        NotifyKind::Alertmanager => {
            bearer(&mut headers);
            Outgoing {
                method: Method::POST,
                url: join(url.ok_or_else(|| need("url"))?, "api/v2/alerts"),
                headers,
                body: Body::Json(alertmanager_json(m)),
            }
        }
        NotifyKind::Email => return Err("email is not sent over HTTP".into()),
    };
    Ok(out)
}

/// The webhook's JSON: the message, its alerts, and, when it is about
/// one check, that check's change at the top level as before
/// (`check`, `from`, `to`, `reason`, `ts`), so receivers of per-check
/// webhooks keep working.
pub(crate) fn webhook_json(m: &Message) -> Value {
    let mut body = json!({
        "status": m.reason.as_str(),
        "host": m.host,
        "title": m.title(),
        "text": m.text(),
        "alerts": m.alerts,
        "ts": m.ts,
    });
    if let [one] = m.alerts.as_slice() {
        if let Some(check) = &one.check {
            let (from, to) = match one.state {
                AlertState::Resolved => ("down", "up"),
                _ => ("up", "down"),
            };
            body["check"] = json!(check);
            body["from"] = json!(from);
            body["to"] = json!(to);
            body["reason"] = json!(one.reason);
        }
    }
    body
}

/// A `body` template rendered with the message (`status`, `host`,
/// `title`, `text`, `alerts`, `ts`); sent as JSON when it is JSON.
fn templated(template: &str, m: &Message) -> Result<Body, String> {
    let mut env = minijinja::Environment::new();
    env.add_filter("tojson_str", |v: String| serde_json::to_string(&v).unwrap_or_default());
    let text = env
        .render_str(template, webhook_json(m))
        .map_err(|e| format!("the body template failed: {e}"))?;
    let content_type = if serde_json::from_str::<Value>(&text).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok(Body::Text { content_type, text })
}

/// The alerts of `m` as Alertmanager's API v2 takes them: labels that
/// identify each, annotations that describe it, `startsAt`, and `endsAt`
/// (when it resolved, or a little ahead while it fires: posted again
/// every minute, it stays firing there).
pub(crate) fn alertmanager_json(m: &Message) -> Value {
    if m.reason == Reason::Test {
        return json!([{
            "labels": { "alertname": "VigilTest", "job": "vigil", "host": m.host, "severity": "none" },
            "annotations": { "summary": m.title(), "description": m.text() },
            "startsAt": rfc3339(m.ts),
            "endsAt": rfc3339(m.ts + 60_000),
        }]);
    }
    let alerts: Vec<Value> = m
        .alerts
        .iter()
        .map(|a| {
            let ends = match a.state {
                AlertState::Resolved => a.resolved_at.unwrap_or(m.ts),
                _ => m.ts + AM_VALID_MS,
            };
            let mut labels = json!({
                "alertname": a.name,
                "instance": a.instance,
                "severity": a.severity.as_str(),
                "job": "vigil",
                "host": m.host,
            });
            if let Some(check) = &a.check {
                labels["check"] = json!(check);
            }
            json!({
                "labels": labels,
                "annotations": { "summary": a.message, "description": super::super::message::line(a) },
                "startsAt": rfc3339(a.fired_at.unwrap_or(a.since)),
                "endsAt": rfc3339(ends),
            })
        })
        .collect();
    Value::Array(alerts)
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A path segment, percent-encoded.
fn url_escape(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::super::super::message::tests::alert;
    use super::*;

    fn message(state: AlertState) -> Message {
        let mut a = alert("check-down", "api", state);
        a.check = Some("api".into());
        a.reason = "HTTP 503".into();
        Message::new("web1", vec![a], vec![], 1_765_000_000_000)
    }

    fn channel(kind: NotifyKind, url: Option<&str>) -> NotifyConfig {
        NotifyConfig::new(kind, url)
    }

    fn json_of(o: &Outgoing) -> &Value {
        match &o.body {
            Body::Json(v) => v,
            other => panic!("not JSON: {other:?}"),
        }
    }

    #[test]
    fn the_webhook_keeps_the_per_check_fields() {
        let o = request(
            &channel(NotifyKind::Webhook, Some("http://h/hook")),
            None,
            &message(AlertState::Firing),
            "1",
        )
        .unwrap();
        assert_eq!((o.method.as_str(), o.url.as_str()), ("POST", "http://h/hook"));
        let v = json_of(&o);
        assert_eq!(
            (v["check"].as_str(), v["from"].as_str(), v["to"].as_str()),
            (Some("api"), Some("up"), Some("down"))
        );
        assert_eq!(v["reason"], "HTTP 503");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["alerts"][0]["name"], "check-down");
        assert!(o.headers.is_empty());
        let back = request(
            &channel(NotifyKind::Webhook, Some("http://h/hook")),
            Some("tok"),
            &message(AlertState::Resolved),
            "2",
        )
        .unwrap();
        assert_eq!(json_of(&back)["to"], "up");
        assert_eq!(back.headers, [("Authorization", "Bearer tok".to_string())]);
    }

    #[test]
    fn a_body_template_shapes_the_webhook() {
        let mut c = channel(NotifyKind::Webhook, Some("http://h/hook"));
        c.body = Some(r#"{"msg": {{ title | tojson }}, "n": {{ alerts | length }}}"#.into());
        let o = request(&c, None, &message(AlertState::Firing), "1").unwrap();
        let Body::Text { content_type, text } = &o.body else {
            panic!()
        };
        assert_eq!(*content_type, "application/json");
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["msg"], "[FIRING] web1: check api is down: HTTP 503");
        assert_eq!(v["n"], 1);
        c.body = Some("{{ title }}".into());
        let o = request(&c, None, &message(AlertState::Firing), "1").unwrap();
        assert!(matches!(
            o.body,
            Body::Text {
                content_type: "text/plain; charset=utf-8",
                ..
            }
        ));
    }

    #[test]
    fn chat_services_get_their_documented_shapes() {
        let m = message(AlertState::Firing);
        let mut ntfy = channel(NotifyKind::Ntfy, Some("http://n"));
        ntfy.topic = Some("ops".into());
        let o = request(&ntfy, None, &m, "1").unwrap();
        assert_eq!(
            (
                o.url.as_str(),
                json_of(&o)["topic"].as_str(),
                json_of(&o)["priority"].as_i64()
            ),
            ("http://n", Some("ops"), Some(4))
        );

        let mut tg = channel(NotifyKind::Telegram, Some("http://t/"));
        tg.chat_id = Some("-100".into());
        let o = request(&tg, Some("123:ABC"), &m, "1").unwrap();
        assert_eq!(o.url, "http://t/bot123:ABC/sendMessage");
        assert_eq!(json_of(&o)["chat_id"], "-100");
        assert!(json_of(&o)["text"].as_str().unwrap().starts_with("[FIRING] web1"));

        let o = request(
            &channel(NotifyKind::Discord, Some("http://d/api/webhooks/1/x")),
            None,
            &m,
            "1",
        )
        .unwrap();
        assert_eq!(json_of(&o)["embeds"][0]["color"], 0xd93f0b);
        assert_eq!(json_of(&o)["embeds"][0]["timestamp"], "2025-12-06T05:46:40Z");

        let o = request(&channel(NotifyKind::Slack, Some("http://s")), None, &m, "1").unwrap();
        assert_eq!(json_of(&o)["blocks"][1]["text"]["type"], "mrkdwn");

        let o = request(&channel(NotifyKind::Teams, Some("http://m")), None, &m, "1").unwrap();
        assert_eq!(json_of(&o)["attachments"][0]["content"]["type"], "AdaptiveCard");

        let o = request(&channel(NotifyKind::Gotify, Some("http://g/")), Some("AppTok"), &m, "1").unwrap();
        assert_eq!(o.url, "http://g/message");
        assert_eq!(o.headers, [("X-Gotify-Key", "AppTok".to_string())]);

        let mut mx = channel(NotifyKind::Matrix, Some("http://x"));
        mx.room = Some("!room:example.org".into());
        let o = request(&mx, Some("syt_tok"), &m, "42").unwrap();
        assert_eq!(o.method, Method::PUT);
        assert_eq!(
            o.url,
            "http://x/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/vigil-42"
        );
        assert_eq!(json_of(&o)["msgtype"], "m.text");

        let mut po = channel(NotifyKind::Pushover, None);
        po.user = Some("ukey".into());
        let o = request(&po, Some("akey"), &m, "1").unwrap();
        assert_eq!(o.url, "https://api.pushover.net/1/messages.json");
        assert_eq!(
            (json_of(&o)["token"].as_str(), json_of(&o)["user"].as_str()),
            (Some("akey"), Some("ukey"))
        );
    }

    #[test]
    fn alertmanager_gets_labels_and_an_end() {
        let m = message(AlertState::Firing);
        let o = request(
            &channel(NotifyKind::Alertmanager, Some("http://am:9093")),
            None,
            &m,
            "1",
        )
        .unwrap();
        assert_eq!(o.url, "http://am:9093/api/v2/alerts");
        let a = &json_of(&o)[0];
        assert_eq!(a["labels"]["alertname"], "check-down");
        assert_eq!(a["labels"]["severity"], "critical");
        assert_eq!(a["labels"]["check"], "api");
        assert_eq!(a["endsAt"], rfc3339(m.ts + AM_VALID_MS));
        let back = message(AlertState::Resolved);
        let o = request(
            &channel(NotifyKind::Alertmanager, Some("http://am:9093")),
            None,
            &back,
            "2",
        )
        .unwrap();
        assert_eq!(json_of(&o)[0]["endsAt"], rfc3339(back.alerts[0].resolved_at.unwrap()));
    }

    #[test]
    fn long_texts_are_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
