//! SOAP 1.1 with quick-xml: requests written event by event (the library escapes every
//! text; elements in the order the caller writes them, which is the XSD's), answers read
//! into a small tree of elements by local name (prefixes and namespaces vary between
//! AFIP's servers), and SOAP faults.

use std::io::Cursor;

use quick_xml::{
    Reader, Writer,
    events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event},
};

pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// A request body being written.
pub struct Body {
    writer: Writer<Cursor<Vec<u8>>>,
}

impl Body {
    /// A SOAP 1.1 envelope whose body's first element is `operation` in `namespace`.
    pub fn new(operation: &str, namespace: &str) -> Self {
        let mut body = Self {
            writer: Writer::new(Cursor::new(Vec::new())),
        };
        body.event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
        body.event(Event::Start(
            BytesStart::new("soap:Envelope").with_attributes([("xmlns:soap", ENVELOPE_NS)]),
        ));
        body.event(Event::Start(BytesStart::new("soap:Body")));
        body.event(Event::Start(
            BytesStart::new(operation).with_attributes([("xmlns", namespace)]),
        ));
        body
    }

    fn event(&mut self, event: Event<'_>) {
        // Writing to a Vec cannot fail.
        let _ = self.writer.write_event(event);
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.event(Event::Start(BytesStart::new(name)));
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.event(Event::End(BytesEnd::new(name)));
        self
    }

    /// `<name>text</name>`, the text escaped.
    pub fn leaf(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        let text = text.to_string();
        self.open(name);
        self.event(Event::Text(BytesText::new(&text)));
        self.close(name)
    }

    /// The whole envelope, `operation` closed.
    pub fn finish(mut self, operation: &str) -> String {
        self.close(operation)
            .close("soap:Body")
            .close("soap:Envelope");
        String::from_utf8(self.writer.into_inner().into_inner()).unwrap_or_default()
    }
}

/// An element of an answer: its local name, its text and its children, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The descendant at `path` (names of children, one level each).
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The trimmed text of the child `name`, when it has some.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The first descendant, at any depth, called `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| {
            if c.name == name {
                Some(c)
            } else {
                c.find(name)
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the answer is not well-formed XML: {0}")]
pub struct XmlError(pub String);

/// Reads `xml` into its root element.
pub fn parse(xml: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(xml);
    let fail = |e: &dyn std::fmt::Display| XmlError(e.to_string());
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        match reader.read_event().map_err(|e| fail(&e))? {
            Event::Start(start) => stack.push(Element {
                name: local(start.local_name().as_ref()),
                ..Element::default()
            }),
            Event::Empty(start) => {
                let element = Element {
                    name: local(start.local_name().as_ref()),
                    ..Element::default()
                };
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(element);
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| XmlError("unbalanced".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err(XmlError("unbalanced".into())),
                }
            }
            Event::Text(text) => {
                let text = text.decode().map_err(|e| fail(&e))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| fail(&e))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
            }
            Event::GeneralRef(reference) => {
                let name = reference.decode().map_err(|e| fail(&e))?;
                let text = quick_xml::escape::unescape(&format!("&{name};"))
                    .map_err(|e| fail(&e))?
                    .into_owned();
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack
        .pop()
        .filter(|_| stack.is_empty())
        .ok_or_else(|| XmlError("an element is not closed".into()))?;
    match document.children.len() {
        1 => Ok(document.children.remove(0)),
        _ => Err(XmlError("not one root element".into())),
    }
}

fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// A SOAP fault: its code without the prefix (`coe.alreadyAuthenticated`) and string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub message: String,
}

/// The body's first element, or the fault it carries.
pub fn body(envelope: &Element) -> Result<&Element, Option<Fault>> {
    let body = envelope.child("Body").ok_or(None)?;
    let first = body.children.first().ok_or(None)?;
    if first.name == "Fault" {
        let code = first.text_of("faultcode").unwrap_or_default();
        let code = code.rsplit(':').next().unwrap_or(code).to_owned();
        let message = first.text_of("faultstring").unwrap_or_default().to_owned();
        return Err(Some(Fault { code, message }));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_escaped_and_in_the_order_written() {
        let mut body = Body::new("FECompUltimoAutorizado", "http://ar.gov.afip.dif.FEV1/");
        body.open("Auth")
            .leaf("Token", "a<b&c")
            .leaf("Sign", "s")
            .leaf("Cuit", 20123456786u64)
            .close("Auth")
            .leaf("PtoVta", 1);
        let xml = body.finish("FECompUltimoAutorizado");
        assert!(
            xml.contains("<Token>a&lt;b&amp;c</Token><Sign>s</Sign><Cuit>20123456786</Cuit>"),
            "{xml}"
        );
        let tree = parse(&xml).unwrap();
        let op = super::body(&tree).unwrap();
        assert_eq!(op.name, "FECompUltimoAutorizado");
        assert_eq!(op.at(&["Auth", "Token"]).unwrap().text, "a<b&c");
        let names: Vec<_> = op.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Auth", "PtoVta"]);
    }

    #[test]
    fn a_fault_is_read_without_its_prefix() {
        let xml = r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode xmlns:ns1="http://xml.apache.org/axis/">ns1:coe.alreadyAuthenticated</faultcode><faultstring>El CEE ya posee un TA valido para el acceso al WSN solicitado</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let tree = parse(xml).unwrap();
        let fault = body(&tree).unwrap_err().unwrap();
        assert_eq!(fault.code, "coe.alreadyAuthenticated");
        assert!(fault.message.starts_with("El CEE"));
    }
}
