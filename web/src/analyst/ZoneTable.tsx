import type { ZoneScope } from "../api/types";

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(1)}%`);
const signed = (v: number | null) => (v === null ? "—" : `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(1)}`);

const SCOPE_LABEL: Record<ZoneScope["scope"], string> = {
  current: "Current season",
  season: "Season",
  career: "Career",
};

/** Per zone: attempts, make rate, the model's expected rate, points above expected, league. */
export function ZoneTable({ scope }: { scope: ZoneScope }) {
  const label = `${SCOPE_LABEL[scope.scope]}${scope.season ? ` ${scope.season}` : ""}`;
  return (
    <div className="table-wrap">
      <table className="table table--zones" data-testid={`zones-${scope.scope}`}>
        <caption>{label}</caption>
        <thead>
          <tr>
            <th scope="col">Zone</th>
            <th scope="col" className="num">Shots</th>
            <th scope="col" className="num">Made</th>
            <th scope="col" className="num">Expected</th>
            <th scope="col" className="num" title="Points above what the model expected of the same shots">
              Pts vs exp.
            </th>
            <th scope="col" className="num">League</th>
          </tr>
        </thead>
        <tbody>
          {[...scope.zones, scope.total].map((z) => (
            <tr key={z.zone} className={z.zone === "All" ? "is-total" : undefined}>
              <th scope="row">{z.zone}</th>
              <td className="num">{z.attempts}</td>
              <td className="num">{pct(z.make_rate)}</td>
              <td className="num">{pct(z.expected_rate)}</td>
              <td className="num">{signed(z.points_above_expected)}</td>
              <td className="num">{pct(z.league_make_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
