// Must NOT compile: the test asserts that tsc rejects exactly these two lines, which prove that
// the generated types carry the contract's field types into a TypeScript caller.
import createClient from "openapi-fetch";
import type { paths } from "shop-api";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:1" });

export async function wrongTypes(): Promise<string | undefined> {
  // Buy.quantity is an int: a string is a compile error (TS2322), not a 400 at run time.
  const { data } = await client.POST("/shop.v1.Gateway/buy", { body: { sku: "apple", quantity: "2" } });
  // Receipt.remaining_stock is an int: it is not a string (TS2322).
  const remaining: string | undefined = data?.remaining_stock;
  return remaining;
}
