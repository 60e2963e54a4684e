//! The PDFs people receive, read back as their PDF reader would (no server needed).

mod report_pdf;
