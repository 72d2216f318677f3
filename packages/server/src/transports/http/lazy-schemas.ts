import ValidatorSelector, { type ValidatorFactory } from '@fastify/ajv-compiler';
import SerializerSelector, { type SerializerFactory } from '@fastify/fast-json-stringify-compiler';
import { Ajv, type AnySchema, type ValidateFunction } from 'ajv';

/**
 * Route schemas compiled when first needed instead of while the routes are registered. Compiling the REST API's
 * request validators, response serializers and response validators took about 0.6 s of a 2.4 s start-up; now
 * the server answers first and compiles afterwards: `warm()` (called once the server listens) compiles whatever
 * is still pending in small steps between requests, and a request that comes before its route is warm compiles
 * that route's schema itself. A schema that does not compile fails `warm()`, and the tests call it.
 */
export class LazySchemas {
  readonly #pending = new Set<() => void>();

  /** For Fastify's `schemaController.compilersFactory`: the default compilers (Ajv, fast-json-stringify), deferred. */
  readonly compilersFactory: { buildValidator: ValidatorFactory; buildSerializer: SerializerFactory } = {
    buildValidator: this.#deferValidators(ValidatorSelector()),
    buildSerializer: this.#deferSerializers(SerializerSelector()),
  };

  /** Compilations not yet done. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Compiles everything still pending, a few at a time with the event loop free in between. */
  async warm(): Promise<void> {
    for (;;) {
      const batch = [...this.#pending].slice(0, 4);
      if (batch.length === 0) return;
      for (const compile of batch) compile();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * `compile()`'s function, compiled on its first call. Ajv and Fastify read `errors` off the function after a
   * failed validation, so it is copied over after every call.
   */
  defer<F extends (...args: never[]) => unknown>(compile: () => F): F & { errors?: unknown } {
    let compiled: F | undefined;
    const force = (): F => {
      if (compiled === undefined) {
        compiled = compile();
        this.#pending.delete(force);
      }
      return compiled;
    };
    this.#pending.add(force);
    const deferred = function (this: unknown, ...args: Parameters<F>) {
      const fn = force();
      const result = fn.apply(this, args);
      deferred.errors = (fn as { errors?: unknown }).errors;
      return result;
    } as F & { errors?: unknown };
    return deferred;
  }

  /** An Ajv whose `compile` is deferred, for plugins that take an Ajv instance (response validation). */
  ajv(options: ConstructorParameters<typeof Ajv>[0]): Ajv {
    const ajv = new Ajv(options);
    const compile = ajv.compile.bind(ajv) as (schema: AnySchema, meta?: boolean) => ValidateFunction;
    ajv.compile = ((schema: AnySchema, meta?: boolean) => this.defer(() => compile(schema, meta))) as Ajv['compile'];
    return ajv;
  }

  #deferValidators(build: ValidatorFactory): ValidatorFactory {
    return ((externalSchemas: unknown, options: unknown) => {
      const compiler = (build as (e: unknown, o: unknown) => (route: unknown) => (...args: never[]) => unknown)(externalSchemas, options);
      return (route: unknown) => this.defer(() => compiler(route));
    }) as unknown as ValidatorFactory;
  }

  /**
   * The serializer factory is asked again for each route: its compiler drops a schema from the shared set it
   * was built with when a route's response is that very schema (`$id`), which broke every later route that
   * refers to it once the order of compilation was no longer the order of registration.
   */
  #deferSerializers(build: SerializerFactory): SerializerFactory {
    const factory = build as (e: unknown, o: unknown) => (route: unknown) => (doc: never) => string;
    return ((externalSchemas: unknown, options: unknown) => {
      return (route: unknown) => this.defer(() => factory(externalSchemas, options)(route));
    }) as unknown as SerializerFactory;
  }
}
