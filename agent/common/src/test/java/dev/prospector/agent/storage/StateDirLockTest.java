package dev.prospector.agent.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One process per state dir; the refusal names the holder. (Across processes: VerifierCommandIT.) */
class StateDirLockTest {
    @TempDir
    Path dir;

    @Test
    void aSecondLockOnTheSameDirIsRefusedNamingTheHoldersPidAndTheDir() throws Exception {
        Path state = dir.resolve("state");
        String pid = Long.toString(ProcessHandle.current().pid());
        try (StateDirLock first = StateDirLock.acquire(state, "verifier state dir")) {
            assertEquals(pid, Files.readString(state.resolve(StateDirLock.FILE)).trim(), "the holder writes its PID");
            var e = assertThrows(
                    StateDirLock.HeldException.class, () -> StateDirLock.acquire(state, "verifier state dir"));
            assertTrue(e.getMessage().contains("process " + pid), e.getMessage());
            assertTrue(e.getMessage().contains(state.toString()), e.getMessage());
            assertEquals(pid, e.holderPid());
            // The refused attempt must not have dropped the holder's lock (closing a descriptor would).
            assertThrows(
                    StateDirLock.HeldException.class,
                    () -> StateDirLock.acquire(state.resolve("."), "verifier state dir"));
        }
        try (StateDirLock again = StateDirLock.acquire(state, "verifier state dir")) {
            assertEquals(state, again.dir());
        }
    }

    @Test
    void theDirIsCreatedWhenMissingAndTheLockFileStaysAfterClose() throws Exception {
        Path state = dir.resolve("a").resolve("b");
        StateDirLock.acquire(state, "board data dir").close();
        assertTrue(Files.exists(state.resolve(StateDirLock.FILE)), "never deleted, so no two processes lock two files");
    }
}
