// Module: a named, data-only bundle of operation descriptors that a CoreBuilder mounts in one step.
// Invariant: a module validates its own name (operation grammar) before any descriptor, and holds no handlers.

import { validateDescriptor, type OperationDescriptor } from './descriptor.js';
import { BuildError } from './errors.js';
import { nameViolationMessage } from './descriptor-error.js';
import { findOperationNameViolation } from './operation-name.js';

export class Module {
  readonly name: string;
  readonly #operations = new Map<string, OperationDescriptor>();

  constructor(name: string, operations: Iterable<OperationDescriptor> = []) {
    if (typeof name !== 'string') throw new TypeError('module name must be a string');
    this.name = name;
    for (const d of operations) this.insertOperation(d);
  }

  /** Adds a descriptor; a name already in the module throws BuildError `ERR_DUPLICATE_OPERATION`. */
  insertOperation(descriptor: OperationDescriptor): this {
    if (this.#operations.has(descriptor.name)) throw new BuildError({ kind: 'duplicate_operation', name: descriptor.name });
    this.#operations.set(descriptor.name, descriptor);
    return this;
  }

  /** Descriptors sorted by name (byte order for the ASCII grammar). */
  get operations(): readonly OperationDescriptor[] {
    return [...this.#operations.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Why the module cannot be mounted (its name first, then each descriptor in name order), or undefined. */
  findProblem(): string | undefined {
    const v = findOperationNameViolation(this.name);
    if (v !== undefined) return nameViolationMessage(this.name, v);
    for (const d of this.operations) {
      const err = validateDescriptor(d);
      if (err !== undefined) return `operation \`${d.name}\` is invalid: ${err.message}`;
    }
    return undefined;
  }
}
