// A Hive metastore (Thrift) for the tests, on 127.0.0.1 only: Hive 2.3's metastore handler, the one
// Spark ships in its jars/ folder, over an embedded Derby database. Hive 2.3's own HiveMetaStore main
// binds every interface (it has no bind-host setting); this binds the loopback address. It also
// creates the transaction tables (TxnDbUtil.prepDb): the metastore's lock API, which Iceberg's Hive
// catalog takes around each commit, needs them, and DataNucleus does not create them.
// Started by scripts/services.d/hive-metastore.sh (java source-file mode); the Derby database, the
// warehouse and the connection pool are Hive settings given as -D system properties.
//
// Environment: HIVE_METASTORE_PORT.

import java.net.InetSocketAddress;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.api.ThriftHiveMetastore;
import org.apache.hadoop.hive.metastore.txn.TxnDbUtil;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;

public class HiveMetastoreServer {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv().getOrDefault("HIVE_METASTORE_PORT", "59083"));
    HiveConf conf = new HiveConf();
    try {
      TxnDbUtil.prepDb(conf);
    } catch (Exception e) {
      if (e.getMessage() == null || !e.getMessage().contains("already exists")) {
        throw e;
      }
    }
    ThriftHiveMetastore.Iface handler = HiveMetaStore.newRetryingHMSHandler("hms", conf, false);
    TServerSocket socket = new TServerSocket(new InetSocketAddress("127.0.0.1", port));
    TThreadPoolServer.Args serverArgs =
        new TThreadPoolServer.Args(socket)
            .processor(new ThriftHiveMetastore.Processor<>(handler))
            .protocolFactory(new TBinaryProtocol.Factory())
            .minWorkerThreads(2)
            .maxWorkerThreads(16);
    System.err.println("hive-metastore: serving on thrift://127.0.0.1:" + port);
    new TThreadPoolServer(serverArgs).serve();
  }
}
