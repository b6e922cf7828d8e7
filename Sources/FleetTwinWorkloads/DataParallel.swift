import FleetTwinTensor

/// Data parallelism with a result that does not depend on placement.
///
/// A job of world size W computes W replica gradients, each on its own data shard. Replica r
/// runs on device r mod D. Gradients are kept per replica and reduced in replica order
/// 0, 1, ... W-1, then divided by W, so spreading the same replicas over 1, 2 or W devices
/// (or resizing between steps) gives bit-identical parameters. The host runs the devices'
/// replicas one device after another: the devices are a grouping, not threads.
public enum DataParallel {
    /// The replicas device `device` of `devices` runs, in order.
    public static func replicas(onDevice device: Int, of devices: Int, worldSize: Int) -> [Int] {
        Array(stride(from: device, to: worldSize, by: devices))
    }

    /// Averaged gradients of `worldSize` replicas spread over `devices` devices.
    /// `replica(r)` returns replica r's gradients (same shapes for every replica).
    public static func averagedGradients(worldSize: Int, devices: Int,
                                         replica: (Int) -> [Tensor]) -> [Tensor] {
        let devices = max(1, min(devices, worldSize))
        var perReplica = [[Tensor]?](repeating: nil, count: worldSize)
        for device in 0..<devices {
            for r in replicas(onDevice: device, of: devices, worldSize: worldSize) {
                perReplica[r] = replica(r)
            }
        }
        // The all-reduce: a fixed left-to-right sum over replicas, whatever the grouping was.
        var total = perReplica[0]!
        for r in 1..<worldSize {
            let g = perReplica[r]!
            for p in total.indices {
                for i in total[p].scalars.indices { total[p].scalars[i] += g[p].scalars[i] }
            }
        }
        let inverse = 1 / Float(worldSize)
        for p in total.indices { for i in total[p].scalars.indices { total[p].scalars[i] *= inverse } }
        return total
    }
}
