/**
 * An R2 bucket that counts its billable operations: class A (put, list, createMultipartUpload)
 * and class B (get, head); deletes are free. Parts of a multipart upload are not counted (the
 * monitor writes single objects).
 */
import type { CostCounts } from "./counts";
import type { CostMeter } from "./counts";

const CLASS: Record<string, keyof CostCounts> = {
  put: "r2_class_a",
  list: "r2_class_a",
  createMultipartUpload: "r2_class_a",
  get: "r2_class_b",
  head: "r2_class_b",
};

/** `bucket`, with each class A and class B operation added to `meter`. */
export function meteredR2(bucket: R2Bucket, meter: CostMeter): R2Bucket {
  return new Proxy(bucket, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const field = CLASS[prop];
      return (...args: unknown[]) => {
        if (field) meter.add({ [field]: 1 });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
