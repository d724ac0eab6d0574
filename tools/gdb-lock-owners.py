# gdb -x tools/gdb-lock-owners.py: for every thread blocked in
# pthread_mutex_lock, which thread (LWP) owns that mutex.
import gdb

for thread in gdb.selected_inferior().threads():
    thread.switch()
    frame = gdb.newest_frame()
    while frame is not None:
        name = frame.name() or ""
        if "pthread_mutex_lock" in name:
            frame.select()
            try:
                owner = gdb.parse_and_eval("mutex->__data.__owner")
                print("thread %d (LWP %d, %s) waits for a mutex owned by LWP %s"
                      % (thread.num, thread.ptid[1], thread.name, owner))
            except gdb.error as err:
                print("thread %d: %s" % (thread.num, err))
            break
        frame = frame.older()
