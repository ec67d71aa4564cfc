// fast-check arbitraries for the JSON Schemas of our OpenAPI document. Written here because the
// published converters (json-schema-fast-check) are archived and cover less than zod 4 emits;
// this covers exactly the keywords the document uses, and fails loudly on any other.
import fc from 'fast-check';

export type JsonSchema = Record<string, unknown>;

const REF_PREFIX = '#/components/schemas/';
const MAX_DEPTH = 6;

/** Values the schema accepts, mostly; bounds are honoured so most requests reach the engine. */
export function arbitraryFor(
  schema: JsonSchema,
  components: Record<string, JsonSchema>,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (typeof schema.$ref === 'string') {
    const target = components[schema.$ref.slice(REF_PREFIX.length)];
    if (!target) throw new Error(`unresolved $ref ${schema.$ref}`);
    return arbitraryFor(target, components, depth);
  }
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options))
      return fc.oneof(...options.map((option: JsonSchema) => arbitraryFor(option, components, depth)));
  }
  if (Object.keys(schema).length === 0 || depth > MAX_DEPTH) return fc.jsonValue({ maxDepth: 3 });
  switch (schema.type) {
    case 'object':
      return objectArbitrary(schema, components, depth);
    case 'array': {
      const items = arbitraryFor((schema.items as JsonSchema | undefined) ?? {}, components, depth + 1);
      const minLength = (schema.minItems as number | undefined) ?? 0;
      // A few items reach every rule; a thousand would only slow the run.
      const maxLength = Math.min((schema.maxItems as number | undefined) ?? 6, minLength + 5);
      return fc.array(items, { minLength, maxLength });
    }
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
    case 'number': {
      const min = (schema.minimum as number | undefined) ?? -1e12;
      const max = (schema.maximum as number | undefined) ?? 1e12;
      const integer = fc.integer({
        min: Math.max(min, Number.MIN_SAFE_INTEGER),
        max: Math.min(max, Number.MAX_SAFE_INTEGER),
      });
      return schema.type === 'integer' ? integer : fc.oneof(integer, fc.double({ min, max, noNaN: true }));
    }
    case 'boolean':
      return fc.boolean();
    default:
      throw new Error(`no arbitrary for schema ${JSON.stringify(schema)}`);
  }
}

function objectArbitrary(
  schema: JsonSchema,
  components: Record<string, JsonSchema>,
  depth: number,
): fc.Arbitrary<unknown> {
  const properties = (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
  if (Object.keys(properties).length === 0) {
    // A free-form object (metadata): any JSON object.
    return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
  }
  const record = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => [
      name,
      arbitraryFor(property, components, depth + 1),
    ]),
  );
  const requiredKeys = (schema.required as string[] | undefined) ?? [];
  return fc.record(record, { requiredKeys });
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = Math.min((schema.maxLength as number | undefined) ?? 24, 24);
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern);
    return fc
      .stringMatching(pattern)
      .filter((value) => value.length >= Math.max(minLength, 1) && value.length <= maxLength);
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}
