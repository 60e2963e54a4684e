//! The emulator's XML: requests read into nodes by local name (a client may use any
//! prefix), answers written with quick-xml in SOAP 1.1 envelopes.

use quick_xml::{
    Writer,
    events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event},
    reader::Reader,
};

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|n| n.name == name)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|n| n.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|n| n.name.as_str()).collect()
    }
}

fn read_children(reader: &mut Reader<&[u8]>, node: &mut Node) -> Result<(), String> {
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let mut child = Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                read_children(reader, &mut child)?;
                node.children.push(child);
            }
            Event::Empty(e) => node.children.push(Node {
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Event::Text(t) => node.text += &t.decode().map_err(|e| e.to_string())?,
            Event::CData(t) => node.text += &t.decode().map_err(|e| e.to_string())?,
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                node.text += &quick_xml::escape::unescape(&format!("&{name};"))
                    .map_err(|e| e.to_string())?;
            }
            Event::End(_) | Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The operation element inside `Envelope/Body`.
pub fn operation(body: &str) -> Result<Node, String> {
    let mut reader = Reader::from_reader(body.as_bytes());
    let mut document = Node::default();
    read_children(&mut reader, &mut document)?;
    document
        .get("Envelope")
        .and_then(|e| e.get("Body"))
        .and_then(|b| b.children.first())
        .cloned()
        .ok_or_else(|| "no soap:Envelope/soap:Body/<operation>".to_owned())
}

/// The root element of a plain document.
pub fn root(document: &str) -> Result<Node, String> {
    let mut reader = Reader::from_reader(document.as_bytes());
    let mut top = Node::default();
    read_children(&mut reader, &mut top)?;
    top.children
        .into_iter()
        .next()
        .ok_or_else(|| "no root element".to_owned())
}

/// An answer being written.
pub struct Out(Writer<Vec<u8>>);

impl Out {
    pub fn envelope() -> Self {
        let mut out = Self(Writer::new(Vec::new()));
        out.event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
        out.event(Event::Start(
            BytesStart::new("soap:Envelope").with_attributes([
                ("xmlns:soap", "http://schemas.xmlsoap.org/soap/envelope/"),
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                ("xmlns:xsd", "http://www.w3.org/2001/XMLSchema"),
            ]),
        ));
        out.event(Event::Start(BytesStart::new("soap:Body")));
        out
    }

    /// A document that is not an envelope (the ticket inside WSAA's answer).
    pub fn document() -> Self {
        let mut out = Self(Writer::new(Vec::new()));
        out.event(Event::Decl(BytesDecl::new(
            "1.0",
            Some("UTF-8"),
            Some("yes"),
        )));
        out
    }

    fn event(&mut self, event: Event<'_>) {
        let _ = self.0.write_event(event);
    }

    pub fn open_ns(&mut self, name: &str, namespace: &str) -> &mut Self {
        self.event(Event::Start(
            BytesStart::new(name).with_attributes([("xmlns", namespace)]),
        ));
        self
    }

    pub fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.event(Event::Start(
            BytesStart::new(name).with_attributes(attributes.iter().copied()),
        ));
        self
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.event(Event::Start(BytesStart::new(name)));
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.event(Event::End(BytesEnd::new(name)));
        self
    }

    pub fn leaf(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        let text = text.to_string();
        self.open(name);
        self.event(Event::Text(BytesText::new(&text)));
        self.close(name)
    }

    pub fn into_envelope(mut self) -> String {
        self.close("soap:Body").close("soap:Envelope");
        self.into_document()
    }

    pub fn into_document(self) -> String {
        String::from_utf8(self.0.into_inner()).unwrap_or_default()
    }
}

/// A SOAP fault envelope.
pub fn fault(code: &str, message: &str) -> String {
    let mut out = Out::envelope();
    out.open("soap:Fault")
        .open_with("faultcode", &[("xmlns:ns1", "http://xml.apache.org/axis/")])
        .event(Event::Text(BytesText::new(&format!("ns1:{code}"))));
    out.close("faultcode")
        .leaf("faultstring", message)
        .close("soap:Fault");
    out.into_envelope()
}
