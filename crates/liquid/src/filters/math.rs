//! Arithmetic filters. Inputs and arguments are coerced with `to_number`; integer results
//! stay integers (falling back to floats on overflow rather than wrapping or panicking), and
//! float results are rounded to the decimals of their operands, as Shopify's decimal
//! arithmetic gives `10.1 | plus: 2.2` = `12.3`.

use super::{FilterArgs, Num, to_number};
use crate::value::Value;

type R = Result<Value, String>;

fn decimals(f: f64) -> usize {
    if !f.is_finite() {
        return 0;
    }
    let text = f.to_string();
    text.split_once('.')
        .map_or(0, |(_, frac)| frac.len())
        .min(17)
}

fn round_to(x: f64, places: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.places$}").parse().unwrap_or(x)
}

fn arith(
    a: Num,
    b: Num,
    int: fn(i64, i64) -> Option<i64>,
    float: fn(f64, f64) -> f64,
    places: fn(usize, usize) -> usize,
) -> Value {
    if let (Num::I(x), Num::I(y)) = (a, b) {
        if let Some(r) = int(x, y) {
            return Value::Int(r);
        }
        return Value::Float(float(x as f64, y as f64));
    }
    let (x, y) = (a.f(), b.f());
    let d = places(decimals(x), decimals(y)).min(17);
    Value::Float(round_to(float(x, y), d))
}

pub fn plus(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(arith(
        to_number(v),
        to_number(a.arg(0)),
        i64::checked_add,
        |x, y| x + y,
        usize::max,
    ))
}

pub fn minus(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(arith(
        to_number(v),
        to_number(a.arg(0)),
        i64::checked_sub,
        |x, y| x - y,
        usize::max,
    ))
}

pub fn times(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(arith(
        to_number(v),
        to_number(a.arg(0)),
        i64::checked_mul,
        |x, y| x * y,
        |p, q| p + q,
    ))
}

fn is_zero(n: Num) -> bool {
    match n {
        Num::I(i) => i == 0,
        Num::F(f) => f == 0.0,
    }
}

pub fn divided_by(v: &Value, a: &FilterArgs<'_>) -> R {
    let (x, y) = (to_number(v), to_number(a.arg(0)));
    if is_zero(y) {
        return Err("divided by 0".into());
    }
    Ok(match (x, y) {
        (Num::I(p), Num::I(q)) => match p.checked_div(q) {
            Some(d) if p % q != 0 && ((p < 0) != (q < 0)) => Value::Int(d - 1),
            Some(d) => Value::Int(d),
            None => Value::Float(p as f64 / q as f64),
        },
        _ => Value::Float(x.f() / y.f()),
    })
}

pub fn modulo(v: &Value, a: &FilterArgs<'_>) -> R {
    let (x, y) = (to_number(v), to_number(a.arg(0)));
    if is_zero(y) {
        return Err("divided by 0".into());
    }
    Ok(match (x, y) {
        (Num::I(p), Num::I(q)) => {
            let r = p.checked_rem(q).unwrap_or(0);
            Value::Int(if r != 0 && ((r < 0) != (q < 0)) {
                r + q
            } else {
                r
            })
        }
        _ => {
            let (p, q) = (x.f(), y.f());
            let mut r = p % q;
            if r != 0.0 && ((r < 0.0) != (q < 0.0)) {
                r += q;
            }
            Value::Float(round_to(r, decimals(p).max(decimals(q))))
        }
    })
}

pub fn abs(v: &Value, _: &FilterArgs<'_>) -> R {
    Ok(match to_number(v) {
        Num::I(i) => i
            .checked_abs()
            .map_or(Value::Float((i as f64).abs()), Value::Int),
        Num::F(f) => Value::Float(f.abs()),
    })
}

fn to_int(f: f64) -> Value {
    if f.is_finite() && f.abs() < 9.2e18 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

pub fn ceil(v: &Value, _: &FilterArgs<'_>) -> R {
    Ok(match to_number(v) {
        Num::I(i) => Value::Int(i),
        Num::F(f) => to_int(f.ceil()),
    })
}

pub fn floor(v: &Value, _: &FilterArgs<'_>) -> R {
    Ok(match to_number(v) {
        Num::I(i) => Value::Int(i),
        Num::F(f) => to_int(f.floor()),
    })
}

pub fn round(v: &Value, a: &FilterArgs<'_>) -> R {
    let places = match to_number(a.arg(0)) {
        Num::I(i) => i,
        Num::F(f) => f as i64,
    };
    Ok(match to_number(v) {
        Num::I(i) => Value::Int(i),
        Num::F(f) if places > 0 => {
            let p = usize::try_from(places.min(17)).unwrap_or(17);
            let scale = 10f64.powi(i32::try_from(p).unwrap_or(17));
            let r = (f * scale).round() / scale;
            Value::Float(if r.is_finite() {
                round_to(r, p)
            } else {
                round_to(f, p)
            })
        }
        Num::F(f) => {
            let scale = 10f64.powi(i32::try_from(places.saturating_neg().min(308)).unwrap_or(308));
            to_int((f / scale).round() * scale)
        }
    })
}

fn pick(v: &Value, a: &FilterArgs<'_>, want_max: bool) -> Value {
    let (x, y) = (to_number(v), to_number(a.arg(0)));
    let x_wins = if want_max {
        x.f() >= y.f()
    } else {
        x.f() <= y.f()
    };
    if x_wins { x.value() } else { y.value() }
}

pub fn at_least(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(pick(v, a, true))
}

pub fn at_most(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(pick(v, a, false))
}
