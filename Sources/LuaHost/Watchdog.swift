import CLuaShim
import Foundation
import Synchronization

/// One shared thread that interrupts calls running past their deadline. A call only stores its deadline;
/// the hook is armed from here when the deadline passes, so calls that finish in time pay nothing but
/// two atomic stores.
final class WatchdogSlot: Sendable {
    /// Deadline in nanoseconds of `DispatchTime.now().uptimeNanoseconds`; 0 = no call running.
    let deadline = Atomic<UInt64>(0)
    /// The state, as a bit pattern; 0 once closed. Guarded so the watchdog never touches a closed state.
    let state = Mutex<UInt>(0)

    init(_ L: OpaquePointer) {
        state.withLock { $0 = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(L))) }
    }

    func close(_ body: () -> Void) {
        state.withLock { value in
            body()
            value = 0
        }
    }
}

final class Watchdog: Sendable {
    static let shared = Watchdog()
    private let slots = Mutex<[WeakSlot]>([])
    private let period: UInt32 = 5_000   // microseconds between checks

    private struct WeakSlot: @unchecked Sendable { weak var slot: WatchdogSlot? }

    private init() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "plume.lua.watchdog"
        thread.start()
    }

    func add(_ slot: WatchdogSlot) {
        slots.withLock { list in
            list.removeAll { $0.slot == nil }
            list.append(WeakSlot(slot: slot))
        }
    }

    private func loop() {
        while true {
            usleep(period)
            let now = DispatchTime.now().uptimeNanoseconds
            let live = slots.withLock { $0.compactMap(\.slot) }
            for slot in live {
                let d = slot.deadline.load(ordering: .relaxed)
                guard d != 0, now > d else { continue }
                slot.state.withLock { bits in
                    guard bits != 0, let raw = UnsafeRawPointer(bitPattern: bits) else { return }
                    // Look again: the call may have finished (and another started) since the load above.
                    // This narrows, but does not close, the window for a spurious interrupt (Docs/HOST.md).
                    let again = slot.deadline.load(ordering: .relaxed)
                    guard again != 0, DispatchTime.now().uptimeNanoseconds > again else { return }
                    plume_interrupt(OpaquePointer(raw))
                }
            }
        }
    }
}
