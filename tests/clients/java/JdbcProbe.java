// Run by tests/clients/test_jdbc.py: pgjdbc metadata and a vector query against vecgres.
import java.sql.*;

public class JdbcProbe {
    static void dump(ResultSet rs, String... cols) throws SQLException {
        while (rs.next()) {
            StringBuilder sb = new StringBuilder();
            for (String c : cols) { if (sb.length() > 0) sb.append('|'); sb.append(rs.getString(c)); }
            System.out.println(sb);
        }
        rs.close();
    }
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0], "postgres", "")) {
            try (Statement st = conn.createStatement()) {
                st.execute("create extension if not exists vector");
                st.execute("create table items (id int primary key, name text not null, embedding vector(3))");
                st.execute("create index items_hnsw on items using hnsw (embedding vector_l2_ops)");
                st.execute("insert into items values (1,'a','[1,2,3]'),(2,'b','[4,5,6]'),(3,'c','[1,1,1]')");
            }
            DatabaseMetaData md = conn.getMetaData();
            System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
            dump(md.getTables(null, "public", "%", new String[]{"TABLE"}), "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
            dump(md.getColumns(null, "public", "items", "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "IS_NULLABLE", "ORDINAL_POSITION");
            dump(md.getPrimaryKeys(null, "public", "items"), "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            dump(md.getIndexInfo(null, "public", "items", false, false), "INDEX_NAME", "NON_UNIQUE", "COLUMN_NAME", "ORDINAL_POSITION");
            try (PreparedStatement ps = conn.prepareStatement("select id, name, embedding <-> ?::vector as d from items order by embedding <-> ?::vector limit ?")) {
                ps.setString(1, "[1,2,3]"); ps.setString(2, "[1,2,3]"); ps.setInt(3, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    ResultSetMetaData rmd = rs.getMetaData();
                    System.out.println("meta " + rmd.getColumnTypeName(1) + " " + rmd.unwrap(org.postgresql.PGResultSetMetaData.class).getBaseTableName(1) + " " + rmd.getColumnTypeName(3) + " " + rmd.isNullable(2));
                    while (rs.next()) System.out.println("row " + rs.getInt(1) + "|" + rs.getString(2) + "|" + rs.getDouble(3));
                }
            }
        }
    }
}
