//! A typical marketing email rendered many times: a loop over five order items, conditionals,
//! `cycle`, and about a dozen filters (default, capitalize, escape, upcase, append, downcase,
//! date, truncate, times, divided_by, round, plus, size, join, url_encode). Prints µs per
//! render, best of five runs. `cargo bench -p sluice-liquid --bench render`.

use std::hint::black_box;
use std::time::Instant;

use sluice_liquid::{RenderOptions, Template, Value};

const TEMPLATE: &str = r#"{% assign first = profile.first_name | default: "there" | capitalize %}<h1>Hi {{ first | escape }},</h1>
<p>Your {{ profile.tier | default: "standard" | upcase }} order {{ event.order_id | append: "-" | append: campaign.name | downcase }} from {{ event.placed_at | date: "%b %d, %Y" }}:</p>
<ul>
{% for item in event.items %}  <li class="{% cycle 'odd', 'even' %}">{{ forloop.index }}. {{ item.name | truncate: 24 | escape }}{% if item.qty > 1 %} &times; {{ item.qty }}{% endif %} &mdash; ${{ item.price_cents | times: item.qty | divided_by: 100.0 | round: 2 }}{% unless forloop.last %},{% endunless %}</li>
{% endfor %}</ul>
{% assign total = 0 %}{% for item in event.items %}{% assign total = total | plus: item.price_cents %}{% endfor %}
<p>{{ event.items | size }} items, {{ total | divided_by: 100 }} dollars. Tags: {{ profile.tags | join: ", " | default: "none" }}.</p>
{% if profile.vip %}<p>Thanks for being VIP since {{ profile.signed_up_at | date: "%Y" }}!</p>{% elsif profile.orders_count > 3 %}<p>Welcome back.</p>{% else %}<p>Welcome!</p>{% endif %}
<a href="https://example.com/u?id={{ profile.id | url_encode }}">Unsubscribe</a>
"#;

const CONTEXT: &str = r#"{"profile": {"id": "p-123", "first_name": "ann", "tier": "gold", "tags": ["vip", "beta", "newsletter"], "vip": true, "orders_count": 7, "signed_up_at": "2024-03-05T14:30:00Z", "email": "ann@example.com"},
 "event": {"order_id": "O-42", "placed_at": "2026-03-14T10:00:00Z", "items": [
  {"name": "Organic cotton t-shirt, large, blue", "qty": 2, "price_cents": 1999},
  {"name": "Socks", "qty": 1, "price_cents": 599},
  {"name": "Rain jacket with a hood & zip", "qty": 1, "price_cents": 8900},
  {"name": "Water bottle", "qty": 3, "price_cents": 1250},
  {"name": "Gift card", "qty": 1, "price_cents": 2500}]},
 "campaign": {"name": "Spring"}}
"#;

fn best_of(runs: usize, n: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    best
}

fn main() {
    let json: serde_json::Value = serde_json::from_str(CONTEXT).expect("context parses");
    let template = Template::parse(TEMPLATE).expect("template parses");
    let options = RenderOptions::default();
    let prepared = Value::from_json(&json);
    println!(
        "{}",
        template.render_with(&prepared, &options).expect("renders")
    );
    let n = 20_000;
    let from_json = best_of(5, n, || {
        let context = Value::from_json(black_box(&json));
        black_box(template.render_with(&context, &options).expect("renders"));
    });
    let in_place = best_of(5, n, || {
        black_box(
            template
                .render_json(black_box(&json), &options)
                .expect("renders"),
        );
    });
    let prepared_only = best_of(5, n, || {
        black_box(
            template
                .render_with(black_box(&prepared), &options)
                .expect("renders"),
        );
    });
    let parse = best_of(5, 2_000, || {
        black_box(Template::parse(black_box(TEMPLATE)).expect("parses"));
    });
    println!("| case | µs |");
    println!("|------|---:|");
    println!("| render, context converted from JSON each time | {from_json:.2} |");
    println!("| render, JSON context read in place (what Sluice does) | {in_place:.2} |");
    println!("| render, context already a Value | {prepared_only:.2} |");
    println!("| parse | {parse:.2} |");
}
