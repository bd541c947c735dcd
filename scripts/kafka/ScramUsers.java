// Creates or updates SCRAM users on a running Kafka (KRaft) in one Admin call: Kafka's own
// kafka-configs changes one user per JVM, and kafkajs has no AlterUserScramCredentials.
// Run by scripts/kafka/scram.ts as a single-file program on the broker's classpath:
//   java -cp '<kafka libs>/*' ScramUsers.java <bootstrap host:port>
// One user per line on stdin, `<SCRAM-SHA-256|SCRAM-SHA-512> <name> <password>`, so that no
// password appears in a process listing. The connection itself must be allowed to alter the
// cluster (the local broker's PLAINTEXT listener is a super user).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class ScramUsers {
  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: ScramUsers <bootstrap host:port> < users");
      System.exit(2);
    }
    List<UserScramCredentialAlteration> upserts = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      String[] f = line.split(" ", 3);
      ScramMechanism mechanism = ScramMechanism.fromMechanismName(f[0]);
      if (f.length != 3 || mechanism == ScramMechanism.UNKNOWN) {
        System.err.println("expected `<SCRAM-SHA-256|SCRAM-SHA-512> <name> <password>` per line");
        System.exit(2);
      }
      upserts.add(new UserScramCredentialUpsertion(f[1], new ScramCredentialInfo(mechanism, 8192), f[2]));
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
    try (Admin admin = Admin.create(props)) {
      admin.alterUserScramCredentials(upserts).all().get();
    }
    System.out.println("SCRAM users upserted: " + upserts.size());
  }
}
