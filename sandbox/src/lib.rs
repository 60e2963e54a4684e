//! Local emulators of the external services, speaking their real contracts.
//!
//! Empty in the walking skeleton: the first integration (Mercately, for vet offers)
//! brings the first emulator. Each emulator starts in-process on port 0 for tests and on
//! a fixed port in `make run`.
