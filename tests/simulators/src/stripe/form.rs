//! Stripe's request encoding: `application/x-www-form-urlencoded` with bracket notation, decoded
//! into a JSON tree of strings (`line_items[0][price_data][unit_amount]=500` becomes
//! `{"line_items": [{"price_data": {"unit_amount": "500"}}]}`; `expand[]=a&expand[]=b` becomes
//! `{"expand": ["a", "b"]}`), and typed readers that fail with Stripe's parameter errors.
//!
//! Stripe's client libraries encode arrays of objects with explicit indices (`items[0][x]`) and
//! arrays of scalars either as `a[]=..` or `a[0]=..`; both are accepted here. A map whose keys are
//! all decimal indices becomes an array, which must then be dense (0, 1, 2, ...).

use serde_json::{Map, Value};

use super::wire::ApiError;
use crate::util::percent_decode;

/// Decodes a form body (or a query string) into a JSON object of strings, arrays and objects.
pub fn decode(form: &str) -> Result<Map<String, Value>, ApiError> {
    let mut root = Value::Object(Map::new());
    for pair in form.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        let path = split_key(&key).ok_or_else(|| invalid_key(&key))?;
        insert(&mut root, &path, value).map_err(|()| invalid_key(&key))?;
    }
    match densify(root, "") {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid_key("")),
        Err(param) => Err(ApiError::invalid(
            &format!("Invalid array: {param} must be indexed from 0 without gaps."),
            Some(&param),
        )),
    }
}

/// `a[b][0][]` to `["a", "b", "0", ""]`; `None` when the brackets do not pair up.
fn split_key(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut path = vec![head.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        path.push(inner[..end].to_owned());
        rest = &inner[end + 1..];
    }
    Some(path)
}

fn insert(node: &mut Value, path: &[String], value: String) -> Result<(), ()> {
    let Some((first, rest)) = path.split_first() else {
        return Err(());
    };
    if first.is_empty() {
        // `[]`: append to an array.
        if node.is_object() && node.as_object().is_some_and(Map::is_empty) {
            *node = Value::Array(Vec::new());
        }
        let Value::Array(items) = node else {
            return Err(());
        };
        if !rest.is_empty() {
            return Err(());
        }
        items.push(Value::String(value));
        return Ok(());
    }
    let Value::Object(map) = node else {
        return Err(());
    };
    if rest.is_empty() {
        if map.get(first).is_some_and(|v| !v.is_string()) {
            return Err(());
        }
        map.insert(first.clone(), Value::String(value));
        return Ok(());
    }
    let child = map
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if child.is_string() {
        return Err(());
    }
    insert(child, rest, value)
}

/// Turns maps keyed `0..n` into arrays; `Err(param)` for a sparse one.
fn densify(value: Value, param: &str) -> Result<Value, String> {
    let Value::Object(map) = value else {
        return Ok(value);
    };
    let numeric = !map.is_empty() && map.keys().all(|k| k.bytes().all(|b| b.is_ascii_digit()));
    if numeric {
        let mut items: Vec<(usize, Value)> = Vec::with_capacity(map.len());
        for (k, v) in map {
            let index = k.parse::<usize>().map_err(|_| param.to_owned())?;
            let child = densify(v, &format!("{param}[{index}]"))?;
            items.push((index, child));
        }
        items.sort_by_key(|(i, _)| *i);
        if items.iter().enumerate().any(|(n, (i, _))| n != *i) {
            return Err(param.to_owned());
        }
        return Ok(Value::Array(items.into_iter().map(|(_, v)| v).collect()));
    }
    let mut out = Map::new();
    for (k, v) in map {
        let name = if param.is_empty() {
            k.clone()
        } else {
            format!("{param}[{k}]")
        };
        out.insert(k, densify(v, &name)?);
    }
    Ok(Value::Object(out))
}

fn invalid_key(key: &str) -> ApiError {
    ApiError::invalid(&format!("Invalid parameter name: {key}"), Some(key))
}

/// Typed access to one level of decoded parameters, naming each parameter as Stripe does in
/// errors (`line_items[0][quantity]`).
pub struct Params<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Params<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Params<'a> {
        Params {
            map,
            prefix: String::new(),
        }
    }

    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    /// Refuses any parameter not in `known`: Stripe's `parameter_unknown`.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ApiError::param(
                "parameter_unknown",
                &format!("Received unknown parameter: {}", self.name(k)),
                &self.name(k),
            )),
            None => Ok(()),
        }
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid(
                &format!("Invalid string: {}", self.name(key)),
                Some(&self.name(key)),
            )),
        }
    }

    pub fn required_str(&self, key: &str) -> Result<&'a str, ApiError> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(missing(&self.name(key))),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.str(key)? else {
            return Ok(None);
        };
        let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() < 19;
        match (valid, text.parse::<i64>()) {
            (true, Ok(n)) => Ok(Some(n)),
            _ => Err(ApiError::param(
                "parameter_invalid_integer",
                &format!("Invalid integer: {text}"),
                &self.name(key),
            )),
        }
    }

    pub fn required_int(&self, key: &str) -> Result<i64, ApiError> {
        self.int(key)?.ok_or_else(|| missing(&self.name(key)))
    }

    pub fn object(&self, key: &str) -> Result<Option<Params<'a>>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Params {
                map,
                prefix: self.name(key),
            })),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(_) => Err(ApiError::invalid(
                &format!("Invalid object: {}", self.name(key)),
                Some(&self.name(key)),
            )),
        }
    }

    /// An array of objects (`line_items[0][...]`).
    pub fn objects(&self, key: &str) -> Result<Vec<Params<'a>>, ApiError> {
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Ok(Params {
                        map,
                        prefix: format!("{}[{i}]", self.name(key)),
                    }),
                    _ => Err(ApiError::invalid(
                        &format!("Invalid object: {}[{i}]", self.name(key)),
                        Some(&self.name(key)),
                    )),
                })
                .collect(),
            Some(_) => Err(ApiError::invalid(
                &format!("Invalid array: {}", self.name(key)),
                Some(&self.name(key)),
            )),
        }
    }

    /// An array of strings (`expand[]=a`); a lone string counts as one element.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, ApiError> {
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()),
            Some(_) => Err(ApiError::invalid(
                &format!("Invalid array: {}", self.name(key)),
                Some(&self.name(key)),
            )),
        }
    }

    /// `metadata[...]`: at most 50 keys of at most 40 characters, values of at most 500.
    pub fn metadata(&self, key: &str) -> Result<Map<String, Value>, ApiError> {
        let Some(meta) = self.object(key)? else {
            return Ok(Map::new());
        };
        if meta.map.len() > 50 {
            return Err(ApiError::invalid(
                "Metadata can have at most 50 keys.",
                Some(&self.name(key)),
            ));
        }
        let mut out = Map::new();
        for (k, v) in meta.map {
            let Value::String(text) = v else {
                return Err(ApiError::invalid(
                    &format!("Invalid string: {}", meta.name(k)),
                    Some(&meta.name(k)),
                ));
            };
            if k.chars().count() > 40 || text.chars().count() > 500 {
                return Err(ApiError::invalid(
                    "Metadata keys can be at most 40 characters and values at most 500.",
                    Some(&meta.name(k)),
                ));
            }
            out.insert(k.clone(), Value::String(text.clone()));
        }
        Ok(out)
    }
}

pub fn missing(param: &str) -> ApiError {
    ApiError::param(
        "parameter_missing",
        &format!("Missing required param: {param}."),
        param,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn brackets_nest_into_objects_and_dense_arrays() {
        let form = "mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=500\
                    &line_items[0][price_data][product_data][name]=T+shirt\
                    &line_items[0][quantity]=2&line_items[1][quantity]=1\
                    &metadata[order_id]=o%2F1&expand[]=payment_intent&expand[]=x";
        let map = decode(form).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({
                "mode": "payment",
                "line_items": [
                    {"price_data": {"unit_amount": "500", "product_data": {"name": "T shirt"}},
                     "quantity": "2"},
                    {"quantity": "1"},
                ],
                "metadata": {"order_id": "o/1"},
                "expand": ["payment_intent", "x"],
            })
        );
    }

    #[test]
    fn malformed_and_sparse_keys_are_refused() {
        assert!(decode("a[b=1").is_err());
        assert!(decode("a=1&a[b]=2").is_err());
        assert!(decode("a[b]=1&a=2").is_err());
        assert!(decode("[x]=1").is_err());
        let sparse = decode("items[0][a]=1&items[2][a]=1").unwrap_err();
        assert_eq!(sparse.param.as_deref(), Some("items"));
        assert_eq!(decode("").unwrap(), Map::new());
    }

    #[test]
    fn typed_readers_name_the_parameter() {
        let map = decode("line_items[0][quantity]=x&n=12").unwrap();
        let p = Params::new(&map);
        assert_eq!(p.int("n").unwrap(), Some(12));
        let items = p.objects("line_items").unwrap();
        let err = items[0].int("quantity").unwrap_err();
        assert_eq!(err.code.as_deref(), Some("parameter_invalid_integer"));
        assert_eq!(err.param.as_deref(), Some("line_items[0][quantity]"));
        let err = items[0].required_int("price").unwrap_err();
        assert_eq!(err.code.as_deref(), Some("parameter_missing"));
        let err = p.only(&["n"]).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("parameter_unknown"));
        assert_eq!(p.int("line_items").unwrap_err().status, 400);
        assert!(Params::new(&decode("n=-1").unwrap()).int("n").is_err());
    }
}
