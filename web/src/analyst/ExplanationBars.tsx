import type { Explanation } from "../api/types";

/** The groups' contributions to one prediction, as horizontal bars around zero. */
export function ExplanationBars({ explanation }: { explanation: Explanation }) {
  if (!explanation.available) {
    return (
      <p className="muted" data-testid="explanation-unavailable">
        {explanation.reason ?? `No explanation for the ${explanation.family} family.`}
      </p>
    );
  }
  const largest = Math.max(0.05, ...explanation.groups.map((g) => Math.abs(g.contribution)));
  return (
    <div className="explanation" data-testid="explanation">
      <ul className="explanation__bars">
        {explanation.groups.map((g) => {
          const share = (Math.abs(g.contribution) / largest) * 50;
          const top = g.features[0];
          return (
            <li key={g.group} data-testid="explanation-group" title={top ? `Largest: ${top.feature} (${top.contribution.toFixed(3)})` : undefined}>
              <span className="explanation__label">{g.group}</span>
              <span className="explanation__track" aria-hidden="true">
                <span
                  className={`explanation__bar ${g.contribution >= 0 ? "is-up" : "is-down"}`}
                  style={
                    g.contribution >= 0
                      ? { left: "50%", width: `${share}%` }
                      : { left: `${50 - share}%`, width: `${share}%` }
                  }
                />
              </span>
              <span className="explanation__value num">
                {g.contribution >= 0 ? "+" : "−"}
                {Math.abs(g.contribution).toFixed(2)}
              </span>
            </li>
          );
        })}
      </ul>
      <p className="muted">
        Log-odds each group adds to the model's score before calibration (right: more likely to go in).
      </p>
    </div>
  );
}
