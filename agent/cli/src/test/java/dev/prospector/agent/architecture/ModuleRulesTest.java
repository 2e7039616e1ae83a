package dev.prospector.agent.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rules of docs/ARCHITECTURE.md, checked on the compiled classes of the board's
 * class path (this module's and those it depends on): evidence, hardware and the ledger know no
 * MQTT and no command line; only the command line knows picocli; no benchmark, and no Block-STM
 * (which only the benchmarks run), is on the board's class path.
 */
class ModuleRulesTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.prospector");
    }

    @Test
    void attestHardwareAndTheLedgerImportNoMqttNoCommandLineAndNoAgentCode() {
        noClasses()
                .that()
                .resideInAnyPackage("dev.prospector.attest..", "dev.prospector.hardware..", "dev.prospector.ledger..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.eclipse.paho..", "picocli..", "dev.prospector.agent..", "com.hivemq..")
                .because(
                        "evidence, board access and the ledger shard must be usable without MQTT or the CLI (DESIGN.md)")
                .check(classes);
    }

    @Test
    void attestAndHardwareKnowNothingOfEachOtherOrTheLedger() {
        noClasses()
                .that()
                .resideInAPackage("dev.prospector.attest..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.prospector.hardware..", "dev.prospector.ledger..")
                .check(classes);
        noClasses()
                .that()
                .resideInAPackage("dev.prospector.hardware..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.prospector.attest..", "dev.prospector.ledger..")
                .check(classes);
    }

    @Test
    void onlyTheCommandLineImportsPicocli() {
        noClasses()
                .that()
                .resideOutsideOfPackage("dev.prospector.agent.cli..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("picocli..")
                .because("only the CLI parses arguments and maps failures to exit codes")
                .check(classes);
    }

    @Test
    void onlyTheTransportImportsPaho() {
        noClasses()
                .that()
                .resideOutsideOfPackage("dev.prospector.agent.transport..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("org.eclipse.paho..")
                .because("MQTT is behind MqttLink, so the node and the verifier can be tested and changed without Paho")
                .check(classes);
    }

    @Test
    void theBoardDaemonKnowsNothingOfTheNetworkSideOrTheCommandLine() {
        noClasses()
                .that()
                .resideInAnyPackage(
                        "dev.prospector.agent.node..", "dev.prospector.agent.outbox..", "dev.prospector.agent.pos..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.prospector.agent.verifier..",
                        "dev.prospector.agent.measure..",
                        "dev.prospector.agent.broker..",
                        "dev.prospector.agent.cli..",
                        "com.hivemq..")
                .because("a board runs the node without the verifier, the embedded broker or picocli")
                .check(classes);
    }

    @Test
    void theDashboardKnowsNothingOfTheNetworkSideOrTheCommandLineAndTheNodeNothingOfIt() {
        noClasses()
                .that()
                .resideInAPackage("dev.prospector.agent.dashboard..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.prospector.agent.verifier..",
                        "dev.prospector.agent.measure..",
                        "dev.prospector.agent.broker..",
                        "dev.prospector.agent.cli..",
                        "org.eclipse.paho..",
                        "com.hivemq..")
                .because("the dashboard is part of the board daemon and only reads the node")
                .check(classes);
        noClasses()
                .that()
                .resideInAnyPackage(
                        "dev.prospector.agent.node..", "dev.prospector.agent.outbox..", "dev.prospector.agent.pos..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.prospector.agent.dashboard..")
                .because("the node tells a NodeObserver; it does not know the dashboard")
                .check(classes);
    }

    @Test
    void theNetworkSideKnowsNothingOfTheBoardDaemonOrTheCommandLine() {
        noClasses()
                .that()
                .resideInAnyPackage(
                        "dev.prospector.agent.verifier..",
                        "dev.prospector.agent.measure..",
                        "dev.prospector.agent.broker..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.prospector.agent.node..",
                        "dev.prospector.agent.outbox..",
                        "dev.prospector.agent.pos..",
                        "dev.prospector.agent.dashboard..",
                        "dev.prospector.agent.cli..",
                        "dev.prospector.hardware..")
                .check(classes);
    }

    @Test
    void theTransportAndTheCommonPartsKnowNoneOfTheirUsers() {
        noClasses()
                .that()
                .resideInAPackage("dev.prospector.agent.transport..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.prospector.agent.node..",
                        "dev.prospector.agent.outbox..",
                        "dev.prospector.agent.verifier..",
                        "dev.prospector.agent.broker..",
                        "dev.prospector.agent.cli..",
                        "dev.prospector.attest..",
                        "dev.prospector.hardware..",
                        "dev.prospector.ledger..")
                .check(classes);
        noClasses()
                .that()
                .resideInAnyPackage("dev.prospector.agent.common..", "dev.prospector.agent.storage..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.prospector.agent.node..",
                        "dev.prospector.agent.outbox..",
                        "dev.prospector.agent.verifier..",
                        "dev.prospector.agent.broker..",
                        "dev.prospector.agent.cli..",
                        "dev.prospector.agent.transport..",
                        "org.eclipse.paho..",
                        "picocli..")
                .check(classes);
    }

    @Test
    void thereAreNoCyclesBetweenModulesNorBetweenTheAgentsPackages() {
        slices().matching("dev.prospector.(*)..").should().beFreeOfCycles().check(classes);
        slices().matching("dev.prospector.agent.(*)..")
                .should()
                .beFreeOfCycles()
                .check(classes);
    }

    @Test
    void thereAreNoCyclesBetweenThePackagesOfHardwareAttestOrTheLedger() {
        // One slice per package, the top-level one included: hardware, hardware.board, hardware.io,
        // attest, ledger and its sub-packages.
        slices().matching("dev.prospector.(**)")
                .should()
                .beFreeOfCycles()
                .because("hardware's readers use the Pi4J side (hardware.io) and both use hardware.board, never back")
                .check(classes.that(resideInAnyPackage(
                        "dev.prospector.hardware..", "dev.prospector.attest..", "dev.prospector.ledger..")));
    }

    @Test
    void noBrokerOrDemoCodeIsOnTheBoardsClassPath() {
        assertTrue(
                classes.stream()
                        .noneMatch(c -> c.getPackageName().startsWith("dev.prospector.agent.broker")
                                || c.getPackageName().startsWith("dev.prospector.demo")),
                "the embedded broker's loader and the demo live in agent/demo, which a board never carries");
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.prospector.agent.broker.EmbeddedBroker"));
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.prospector.demo.DemoCommand"));
    }

    @Test
    void noKafkaCodeIsOnTheBoardsClassPath() {
        // The network side past one machine (bridge, Kafka verifier) lives in agent/kafka, found
        // through ServiceLoader; neither it nor Kafka's client may reach a board's class path.
        assertTrue(
                classes.stream()
                        .noneMatch(c -> c.getPackageName().startsWith("dev.prospector.kafka")
                                || c.getPackageName().startsWith("org.apache.kafka")),
                "agent/kafka and kafka-clients are not dependencies of the program");
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.prospector.kafka.KafkaVerifier"));
        assertThrows(
                ClassNotFoundException.class, () -> Class.forName("org.apache.kafka.clients.producer.KafkaProducer"));
    }

    @Test
    void noBenchmarkIsOnTheBoardsClassPath() {
        assertTrue(
                classes.stream().noneMatch(c -> c.getPackageName().startsWith("dev.prospector.bench")),
                "agent/bench is not a dependency of the program");
        assertTrue(
                classes.stream()
                        .noneMatch(c -> c.getSimpleName().endsWith("Benchmark")
                                || c.getSimpleName().startsWith("Bench")),
                () -> "benchmark classes on the board's class path: "
                        + classes.stream()
                                .filter(c -> c.getSimpleName().endsWith("Benchmark")
                                        || c.getSimpleName().startsWith("Bench"))
                                .map(c -> c.getName())
                                .toList());
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.prospector.bench.BenchCommand"));
    }

    @Test
    void blockStmIsInTheBenchmarksNotTheLedger() {
        // Only the benchmarks run Block-STM: it lives in agent/bench (dev.prospector.bench.stm).
        assertTrue(
                classes.stream().noneMatch(c -> c.getName().contains("BlockStm")),
                () -> "Block-STM classes on the board's class path: "
                        + classes.stream()
                                .filter(c -> c.getName().contains("BlockStm"))
                                .map(c -> c.getName())
                                .toList());
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.prospector.ledger.BlockStmExecutor"));
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.prospector.bench.stm.BlockStmExecutor"));
    }

    @Test
    void theRulesSeeTheWholeBoardClassPath() {
        // A rule checked on no classes proves nothing: the import must hold every module's code.
        for (String p : new String[] {
            "dev.prospector.attest",
            "dev.prospector.hardware",
            "dev.prospector.hardware.board",
            "dev.prospector.hardware.io",
            "dev.prospector.ledger",
            "dev.prospector.agent.node",
            "dev.prospector.agent.pos",
            "dev.prospector.agent.dashboard",
            "dev.prospector.agent.transport",
            "dev.prospector.agent.cli",
            "dev.prospector.agent.verifier",
            "dev.prospector.agent.measure",
            "dev.prospector.agent.common"
        }) {
            assertFalse(classes.stream().noneMatch(c -> c.getPackageName().equals(p)), "no classes imported from " + p);
        }
    }
}
