//! The catalogue, prices and booking: services, neighbourhoods, reference lists, quotes, the cart and checkout.

mod dev_server;
