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
            try (Statement st = conn.createStatement()) {
                st.execute("create table notes (nid serial primary key, item_id int, amount numeric(10,2), created timestamp, tags text[])");
                st.execute("insert into notes (item_id, amount, created, tags) values (1, 12.50, '2024-01-02 03:04:05', '{x,y}')");
                try (ResultSet rs = st.executeQuery("select n.nid, n.amount, n.created, n.tags, i.name as item, 1 + 1 as two from notes n join items i on i.id = n.item_id")) {
                    ResultSetMetaData m = rs.getMetaData();
                    for (int c = 1; c <= m.getColumnCount(); c++) {
                        System.out.println("rsmd " + m.getColumnLabel(c) + "|" + m.getColumnName(c) + "|" + m.getColumnType(c) + "|" + m.getColumnTypeName(c)
                            + "|" + m.getTableName(c) + "|" + m.getSchemaName(c) + "|" + m.getPrecision(c) + "|" + m.getScale(c)
                            + "|" + m.isNullable(c) + "|" + m.isAutoIncrement(c) + "|" + m.isSigned(c) + "|" + m.getColumnClassName(c));
                    }
                    while (rs.next()) System.out.println("note " + rs.getInt(1) + "|" + rs.getBigDecimal(2) + "|" + rs.getTimestamp(3) + "|" + java.util.Arrays.toString((Object[]) rs.getArray(4).getArray()) + "|" + rs.getString(5) + "|" + rs.getInt(6));
                }
            }
            dump(md.getSchemas(), "TABLE_SCHEM");
            dump(md.getCatalogs(), "TABLE_CAT");
            dump(md.getTableTypes(), "TABLE_TYPE");
            dump(md.getColumns(null, "public", "notes", "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "DECIMAL_DIGITS", "IS_AUTOINCREMENT", "COLUMN_DEF");
            dump(md.getImportedKeys(null, "public", "notes"), "PKTABLE_NAME", "FKCOLUMN_NAME");
            dump(md.getExportedKeys(null, "public", "items"), "FKTABLE_NAME", "FKCOLUMN_NAME");
            dump(md.getBestRowIdentifier(null, "public", "items", DatabaseMetaData.bestRowSession, true), "COLUMN_NAME", "TYPE_NAME");
            dump(md.getFunctions(null, "public", "vector_dims"), "FUNCTION_SCHEM", "FUNCTION_NAME");
            int types = 0; boolean vector = false;
            try (ResultSet rs = md.getTypeInfo()) { while (rs.next()) { types++; vector |= "vector".equals(rs.getString("TYPE_NAME")); } }
            System.out.println("typeinfo " + (types > 20) + " vector " + vector);
        }
    }
}
