package dev.prospector.agent.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A plain text table for people: left-aligned columns, numbers right-aligned. */
public final class Table {
    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    public Table(String... header) {
        this.header = List.of(header);
    }

    public Table row(Object... cells) {
        if (cells.length != header.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, header " + header.size());
        }
        List<String> row = new ArrayList<>(cells.length);
        for (Object c : cells) {
            row.add(String.valueOf(c));
        }
        rows.add(row);
        return this;
    }

    public void print(PrintWriter out) {
        int[] width = new int[header.size()];
        boolean[] numeric = new boolean[header.size()];
        for (int i = 0; i < width.length; i++) {
            width[i] = header.get(i).length();
            numeric[i] = !rows.isEmpty();
        }
        for (List<String> row : rows) {
            for (int i = 0; i < width.length; i++) {
                width[i] = Math.max(width[i], row.get(i).length());
                numeric[i] &= row.get(i).matches("-?[0-9][0-9.,]*%?");
            }
        }
        out.println(line(header, width, new boolean[width.length]));
        for (List<String> row : rows) {
            out.println(line(row, width, numeric));
        }
        out.flush();
    }

    private static String line(List<String> cells, int[] width, boolean[] right) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i);
            String pad = " ".repeat(width[i] - c.length());
            if (i > 0) {
                b.append("  ");
            }
            b.append(right[i] ? pad + c : (i == cells.size() - 1 ? c : c + pad));
        }
        return b.toString();
    }
}
