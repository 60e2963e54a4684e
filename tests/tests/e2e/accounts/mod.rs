//! Accounts and people: sign-in, who may call what, owners and pets, vets, study files.

mod dev_server;
