// An Iceberg REST catalog for the tests, on 127.0.0.1 only: Iceberg's own test server classes
// (RESTCatalogAdapter and RESTCatalogServlet of iceberg-core's tests jar) in front of a JdbcCatalog
// on SQLite, served by Jetty 12. Iceberg's RESTCatalogServer fixture does the same but binds every
// interface; this binds the loopback address. Started by scripts/services.d/iceberg-rest.sh
// (java source-file mode: `java -cp JARS IcebergRestServer.java`).
//
// Environment: ICEBERG_REST_PORT, ICEBERG_REST_WAREHOUSE (a folder), ICEBERG_REST_DB (the SQLite
// file of the catalog), ICEBERG_REST_TOKEN: when set, every request must carry
// `Authorization: Bearer <token>` (401 otherwise), so a client's credentials are checked.

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.EnumSet;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public class IcebergRestServer {
  public static void main(String[] args) throws Exception {
    Map<String, String> env = System.getenv();
    int port = Integer.parseInt(env.getOrDefault("ICEBERG_REST_PORT", "59181"));
    Catalog backend =
        CatalogUtil.buildIcebergCatalog(
            "rest_backend",
            Map.of(
                CatalogUtil.ICEBERG_CATALOG_TYPE, "jdbc",
                "uri", "jdbc:sqlite:file:" + env.get("ICEBERG_REST_DB"),
                "jdbc.schema-version", "V1",
                "warehouse", env.get("ICEBERG_REST_WAREHOUSE")),
            new Configuration());
    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.addServlet(new ServletHolder(new RESTCatalogServlet(new RESTCatalogAdapter(backend))), "/*");
    String token = env.get("ICEBERG_REST_TOKEN");
    if (token != null && !token.isEmpty()) {
      String expected = "Bearer " + token;
      Filter bearer =
          (request, response, chain) -> {
            if (expected.equals(((HttpServletRequest) request).getHeader("Authorization"))) {
              chain.doFilter(request, response);
            } else {
              ((HttpServletResponse) response).sendError(401, "missing or wrong bearer token");
            }
          };
      context.addFilter(new FilterHolder(bearer), "/*", EnumSet.of(DispatcherType.REQUEST));
    }
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(context);
    server.start();
    System.err.println("iceberg-rest: serving on http://127.0.0.1:" + port);
    server.join();
  }
}
