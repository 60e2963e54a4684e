// How a frontend books a visit with the API, written against the types openapi-typescript
// generates from the served OpenAPI document (generated/api.d.ts). `make test` generates
// them and type-checks this file: if the document and this booking disagree (a renamed
// field, a parameter in the wrong place, an answer of another shape), tsc says where.

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

type Schemas = components["schemas"];

/** A problem+json answer, as every error is. */
export class ApiProblem extends Error {
  constructor(readonly problem: Schemas["Problem"]) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
  }
}

function must<T>(answer: { data?: T; error?: unknown }): T {
  if (answer.data === undefined) {
    throw new ApiProblem(answer.error as Schemas["Problem"]);
  }
  return answer.data;
}

export interface Booking {
  request: Schemas["RequestView"];
  total: string;
}

/**
 * A new owner signs up, adds their pet and their address, puts a home visit of the first
 * service in the cart for a two-hour window, checks out and reads the request back.
 */
export async function bookAVisit(baseUrl: string, email: string, when: Date): Promise<Booking> {
  const api = createClient<paths>({ baseUrl });

  const tokens: Schemas["Tokens"] = must(
    await api.POST("/api/v1/auth/register", {
      body: {
        email,
        password: "correct horse battery",
        full_name: "Ana Pérez",
        phone: "+5491155550000",
      },
    }),
  );
  const signedIn = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${tokens.access_token}` },
  });
  const me = must(await signedIn.GET("/api/v1/me"));
  if (!me.owner_id) {
    throw new Error("a new account is an owner");
  }

  const species = must(await signedIn.GET("/api/v1/{list}", { params: { path: { list: "species" } } }));
  const dog = species.find((s) => s.name === "Perro") ?? species[0];
  if (!dog) {
    throw new Error("no species to choose from");
  }
  const pet: Schemas["Pet"] = must(
    await signedIn.POST("/api/v1/pets", {
      body: { name: "Luna", species_id: dog.id, sex: "female", neutered: true },
    }),
  );
  const home: Schemas["Address"] = must(
    await signedIn.POST("/api/v1/owners/{id}/addresses", {
      params: { path: { id: me.owner_id } },
      body: { street: "Gurruchaga 1234", lat: -34.585, lon: -58.418, label: "Casa" },
    }),
  );

  const services = must(await signedIn.GET("/api/v1/services"));
  const service = services[0];
  if (!service) {
    throw new Error("no service to book");
  }
  const end = new Date(when.getTime() + 2 * 60 * 60 * 1000);
  const item: Schemas["CartItem"] = must(
    await signedIn.POST("/api/v1/cart/items", {
      body: {
        service_id: service.id,
        pet_id: pet.id,
        address_id: home.id,
        wanted_start: when.toISOString(),
        wanted_end: end.toISOString(),
      },
    }),
  );
  if (item.problem) {
    throw new Error(`the cart says: ${item.problem}`);
  }

  // The key makes a retried checkout (a timeout, a double tap) answer the same.
  const checkedOut: Schemas["CheckoutResult"] = must(
    await signedIn.POST("/api/v1/cart/checkout", {
      params: { header: { "Idempotency-Key": crypto.randomUUID() } },
      body: {},
    }),
  );
  const first = checkedOut.requests[0];
  if (!first) {
    throw new Error("checkout made no request");
  }
  const request = must(
    await signedIn.GET("/api/v1/service-requests/{id}", { params: { path: { id: first.id } } }),
  );
  const state: Schemas["RequestState"] = request.state;
  console.log(`request ${request.id} is ${state}; total ${checkedOut.total} ${checkedOut.currency}`);
  return { request, total: checkedOut.total };
}
