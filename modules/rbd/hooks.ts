/**
 * What later modules plug into the image layer: write stages, info sections, create/remove
 * hooks. Entries are kept by name (registering a name again replaces it, so a module that is
 * initialised twice in one process does not run twice) and listed by `order`.
 */
import type { InfoSection, LifecycleHook, WriteStage } from './api.js';

class Ordered<T extends { name: string; order: number }> {
  private readonly byName = new Map<string, T>();
  private sorted: T[] = [];

  add(entry: T): () => void {
    this.byName.set(entry.name, entry);
    this.resort();
    return () => {
      if (this.byName.get(entry.name) === entry) {
        this.byName.delete(entry.name);
        this.resort();
      }
    };
  }

  /** Ascending `order`; ties keep registration order. */
  list(): readonly T[] {
    return this.sorted;
  }

  private resort(): void {
    this.sorted = [...this.byName.values()].sort((a, b) => a.order - b.order);
  }
}

export class ImageHooks {
  readonly stages = new Ordered<WriteStage>();
  readonly infoSections = new Ordered<InfoSection>();
  readonly lifecycle = new Ordered<LifecycleHook>();
}

/**
 * The hooks of this process. Commands are declared as static data, so their `render`
 * functions (which must know the info sections) can only reach a module-level registry.
 */
export const HOOKS = new ImageHooks();
