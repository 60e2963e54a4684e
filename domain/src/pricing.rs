//! The price of a visit, as a pure function of its terms.
//!
//! ```text
//! distance-adjusted base = base price × neighborhood coefficient
//! gross                  = distance-adjusted base + turn-fee surcharge
//! discounts              = Σ percent discounts × gross + Σ fixed discounts   (at most gross)
//! total                  = gross − discounts, rounded to the peso (half up)
//! ```
//!
//! The rules, and why:
//! - A percent surcharge applies to the distance-adjusted base: an urgent visit across
//!   town costs proportionally more.
//! - Every discount valid for the visit applies, each measured on the same gross amount
//!   (they add up, they do not compound): the result is the same whatever order the
//!   discounts are listed in, and an owner can check each line by hand. Together they
//!   never take the price below zero.
//! - All arithmetic is exact; only the shown lines are rounded (to the cent) and the total
//!   (to the peso, half up, as prices are quoted in whole pesos). A final "rounding" line
//!   carries the difference, so the shown lines always add up to the total exactly.

use chrono::{Datelike, NaiveDateTime, NaiveTime};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Fixed amount (ARS) or percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AmountKind {
    Fixed,
    Percent,
}

/// A surcharge or a discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub name: String,
    pub kind: AmountKind,
    /// ARS for fixed, 0–100 for percent.
    pub value: Decimal,
}

impl Adjustment {
    /// What it amounts to on `basis`, exactly.
    fn on(&self, basis: Decimal) -> Decimal {
        match self.kind {
            AmountKind::Fixed => self.value,
            AmountKind::Percent => basis * self.value / Decimal::ONE_HUNDRED,
        }
    }
}

/// A discount with the weekdays and time of day it applies (its date range is checked
/// where it is looked up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountRule {
    pub adjustment: Adjustment,
    /// ISO weekdays (1 = Monday … 7 = Sunday); `None` = every day.
    pub weekdays: Option<Vec<i16>>,
    /// Local time-of-day window `[from, until)`; it may cross midnight (22:00–06:00).
    /// `None` = all day.
    pub hours: Option<(NaiveTime, NaiveTime)>,
}

impl DiscountRule {
    /// Whether it applies to a visit starting at `local` (Buenos Aires time).
    pub fn applies_at(&self, local: NaiveDateTime) -> bool {
        let weekday = i16::from(u8::try_from(local.weekday().number_from_monday()).unwrap_or(0));
        let day = self
            .weekdays
            .as_ref()
            .is_none_or(|days| days.contains(&weekday));
        let time = local.time();
        let hour = self.hours.is_none_or(|(from, until)| {
            if from <= until {
                from <= time && time < until
            } else {
                time >= from || time < until
            }
        });
        day && hour
    }
}

/// Everything a price depends on, already looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTerms {
    /// The base price valid on the visit date (the vet's own if one exists).
    pub base: Decimal,
    /// Whose base price it is, for the line's label: "general" or the vet's name.
    pub base_label: String,
    pub neighborhood: String,
    pub coefficient: Decimal,
    pub surcharge: Option<Adjustment>,
    pub discounts: Vec<Adjustment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Base,
    Distance,
    Surcharge,
    Discount,
    Rounding,
}

/// One line of a quote: what it is and what it adds (negative for discounts), in ARS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Line {
    pub kind: LineKind,
    pub label: String,
    /// Exact decimal as a string, two decimals, e.g. `"-1500.00"`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "12000.00"))]
    pub amount: Decimal,
}

/// A price, line by line; the lines add up to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    pub lines: Vec<Line>,
    /// Whole pesos, as a string with two decimals, e.g. `"13200.00"`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "13200.00"))]
    pub total: Decimal,
    #[cfg_attr(feature = "openapi", schema(example = "ARS"))]
    pub currency: String,
}

/// Rounded to the cent (half up), always shown with two decimals.
fn cents(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// The price for `terms`.
pub fn price(terms: &PriceTerms) -> Breakdown {
    let adjusted = terms.base * terms.coefficient;
    let surcharge = terms
        .surcharge
        .as_ref()
        .map(|s| (s, s.on(adjusted)))
        .filter(|(_, amount)| !amount.is_zero());
    let gross = adjusted + surcharge.map_or(Decimal::ZERO, |(_, amount)| amount);
    let wanted: Vec<(&Adjustment, Decimal)> =
        terms.discounts.iter().map(|d| (d, d.on(gross))).collect();
    // Together they never take the price below zero: past that, the last ones shrink.
    let mut room = gross;
    let discounts: Vec<(&Adjustment, Decimal)> = wanted
        .into_iter()
        .map(|(d, amount)| {
            let taken = amount.min(room).max(Decimal::ZERO);
            room -= taken;
            (d, taken)
        })
        .collect();
    let exact_total = room;
    let total = exact_total
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .max(Decimal::ZERO);

    let mut lines = vec![Line {
        kind: LineKind::Base,
        label: format!("base price ({})", terms.base_label),
        amount: cents(terms.base),
    }];
    if terms.coefficient != Decimal::ONE {
        lines.push(Line {
            kind: LineKind::Distance,
            label: format!(
                "distance: {} × {}",
                terms.neighborhood,
                terms.coefficient.normalize()
            ),
            amount: cents(adjusted - terms.base),
        });
    }
    if let Some((s, amount)) = surcharge {
        lines.push(Line {
            kind: LineKind::Surcharge,
            label: describe(s),
            amount: cents(amount),
        });
    }
    for (d, amount) in discounts.into_iter().filter(|(_, a)| !a.is_zero()) {
        lines.push(Line {
            kind: LineKind::Discount,
            label: describe(d),
            amount: -cents(amount),
        });
    }
    let shown: Decimal = lines.iter().map(|l| l.amount).sum();
    if shown != total {
        lines.push(Line {
            kind: LineKind::Rounding,
            label: "rounding to the peso".into(),
            amount: total - shown,
        });
    }
    let mut total = total;
    total.rescale(2);
    Breakdown {
        lines,
        total,
        currency: "ARS".into(),
    }
}

fn describe(adjustment: &Adjustment) -> String {
    match adjustment.kind {
        AmountKind::Fixed => adjustment.name.clone(),
        AmountKind::Percent => format!("{} ({}%)", adjustment.name, adjustment.value.normalize()),
    }
}

/// An amount of pesos as people read it in Argentina: `$ 41.040,00`.
pub fn pesos(amount: &str) -> String {
    let (units, cents) = amount.split_once('.').unwrap_or((amount, "00"));
    let (sign, digits) = units
        .strip_prefix('-')
        .map_or(("", units), |rest| ("-", rest));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("$ {sign}{grouped},{cents:0<2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn terms(base: &str, coefficient: &str) -> PriceTerms {
        PriceTerms {
            base: d(base),
            base_label: "general".into(),
            neighborhood: "Palermo".into(),
            coefficient: d(coefficient),
            surcharge: None,
            discounts: Vec::new(),
        }
    }

    fn adj(name: &str, kind: AmountKind, value: &str) -> Adjustment {
        Adjustment {
            name: name.into(),
            kind,
            value: d(value),
        }
    }

    fn amounts(b: &Breakdown) -> Vec<(LineKind, String)> {
        b.lines
            .iter()
            .map(|l| (l.kind, l.amount.to_string()))
            .collect()
    }

    #[test]
    fn worked_examples() {
        use AmountKind::*;
        use LineKind::*;
        // (terms, expected lines, expected total)
        type Case = (PriceTerms, Vec<(LineKind, &'static str)>, &'static str);
        let cases: Vec<Case> = vec![
            // The plain case: base only, coefficient 1.
            (terms("12000", "1"), vec![(Base, "12000.00")], "12000.00"),
            // Distance: 12000 × 1.15 = 13800.
            (
                terms("12000", "1.15"),
                vec![(Base, "12000.00"), (Distance, "1800.00")],
                "13800.00",
            ),
            // Percent surcharge on the adjusted base: 13800 × 50% = 6900.
            (
                PriceTerms {
                    surcharge: Some(adj("urgente", Percent, "50")),
                    ..terms("12000", "1.15")
                },
                vec![
                    (Base, "12000.00"),
                    (Distance, "1800.00"),
                    (Surcharge, "6900.00"),
                ],
                "20700.00",
            ),
            // Fixed surcharge, then two discounts measured on the same gross (20000):
            // 10% = 2000 and a fixed 500, in either order.
            (
                PriceTerms {
                    surcharge: Some(adj("nocturno", Fixed, "5000")),
                    discounts: vec![adj("lunes", Percent, "10"), adj("cupón", Fixed, "500")],
                    ..terms("15000", "1")
                },
                vec![
                    (Base, "15000.00"),
                    (Surcharge, "5000.00"),
                    (Discount, "-2000.00"),
                    (Discount, "-500.00"),
                ],
                "17500.00",
            ),
            // Rounding: 9999.99 × 1.105 = 11049.98895 → 11050 (half up); the distance
            // line 1049.99895 shows as 1050.00, so the lines need a rounding line of 0.01.
            (
                terms("9999.99", "1.105"),
                vec![(Base, "9999.99"), (Distance, "1050.00"), (Rounding, "0.01")],
                "11050.00",
            ),
            // Exactly half a peso rounds up: 10000.50 → 10001.
            (
                terms("10000.50", "1"),
                vec![(Base, "10000.50"), (Rounding, "0.50")],
                "10001.00",
            ),
            // Discounts never go below zero: 60% + 60% of 1000 is capped at 1000.
            (
                PriceTerms {
                    discounts: vec![adj("a", Percent, "60"), adj("b", Percent, "60")],
                    ..terms("1000", "1")
                },
                vec![
                    (Base, "1000.00"),
                    (Discount, "-600.00"),
                    (Discount, "-400.00"),
                ],
                "0.00",
            ),
        ];
        for (terms, lines, total) in cases {
            let breakdown = price(&terms);
            let want: Vec<(LineKind, String)> =
                lines.iter().map(|(k, a)| (*k, (*a).to_owned())).collect();
            assert_eq!(amounts(&breakdown), want, "{terms:?}");
            assert_eq!(breakdown.total.to_string(), total, "{terms:?}");
            assert_eq!(breakdown.currency, "ARS");
        }
    }

    #[test]
    fn labels_say_what_each_line_is() {
        let breakdown = price(&PriceTerms {
            surcharge: Some(adj("Urgente", AmountKind::Percent, "25")),
            discounts: vec![adj("Lunes", AmountKind::Percent, "10.50")],
            ..terms("1000", "1.200")
        });
        let labels: Vec<&str> = breakdown.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "base price (general)",
                "distance: Palermo × 1.2",
                "Urgente (25%)",
                "Lunes (10.5%)",
                "rounding to the peso"
            ]
        );
        // 1000 × 1.2 = 1200; + 25% = 1500; − 10.5% of 1500 = 157.50; 1342.50 → 1343.
        assert_eq!(breakdown.total.to_string(), "1343.00");
    }

    #[test]
    fn discounts_apply_on_their_weekdays_and_hours_even_across_midnight() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("datetime");
        let hm = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").expect("time");
        let rule = |weekdays: Option<Vec<i16>>, hours: Option<(&str, &str)>| DiscountRule {
            adjustment: adj("x", AmountKind::Percent, "10"),
            weekdays,
            hours: hours.map(|(a, b)| (hm(a), hm(b))),
        };
        // 2026-11-30 is a Monday.
        let mondays_mornings = rule(Some(vec![1]), Some(("08:00", "12:00")));
        assert!(
            mondays_mornings.applies_at(at("2026-11-30 08:00")),
            "from is inclusive"
        );
        assert!(mondays_mornings.applies_at(at("2026-11-30 11:59")));
        assert!(
            !mondays_mornings.applies_at(at("2026-11-30 12:00")),
            "until is exclusive"
        );
        assert!(
            !mondays_mornings.applies_at(at("2026-12-01 09:00")),
            "a Tuesday"
        );
        let nights = rule(None, Some(("22:00", "06:00")));
        assert!(nights.applies_at(at("2026-12-01 23:30")));
        assert!(nights.applies_at(at("2026-12-02 05:59")));
        assert!(!nights.applies_at(at("2026-12-02 06:00")));
        assert!(!nights.applies_at(at("2026-12-02 21:59")));
        let weekends = rule(Some(vec![6, 7]), None);
        assert!(weekends.applies_at(at("2026-12-05 00:00")), "Saturday");
        assert!(weekends.applies_at(at("2026-12-06 23:59")), "Sunday");
        assert!(!weekends.applies_at(at("2026-12-04 23:59")), "Friday");
        assert!(
            rule(None, None).applies_at(at("2026-12-04 12:00")),
            "always"
        );
    }

    fn money() -> impl Strategy<Value = Decimal> {
        (1i64..100_000_000).prop_map(|c| Decimal::new(c, 2))
    }
    fn coefficient() -> impl Strategy<Value = Decimal> {
        (500i64..3000).prop_map(|m| Decimal::new(m, 3))
    }
    fn adjustment() -> impl Strategy<Value = Adjustment> {
        (any::<bool>(), 1i64..10_000_000).prop_map(|(fixed, v)| Adjustment {
            name: "x".into(),
            kind: if fixed {
                AmountKind::Fixed
            } else {
                AmountKind::Percent
            },
            value: if fixed {
                Decimal::new(v, 2)
            } else {
                Decimal::new(v % 10_000 + 1, 2)
            },
        })
    }
    prop_compose! {
        fn any_terms()(base in money(), c in coefficient(),
                       surcharge in proptest::option::of(adjustment()),
                       discounts in proptest::collection::vec(adjustment(), 0..4)) -> PriceTerms {
            PriceTerms { surcharge, discounts, ..terms(&base.to_string(), &c.to_string()) }
        }
    }

    proptest! {
        #[test]
        fn never_negative_whole_pesos_and_the_lines_add_up(t in any_terms()) {
            let b = price(&t);
            prop_assert!(b.total >= Decimal::ZERO);
            prop_assert_eq!(b.total, b.total.trunc());
            prop_assert_eq!(b.lines.iter().map(|l| l.amount).sum::<Decimal>(), b.total);
        }

        #[test]
        fn a_higher_coefficient_never_lowers_the_price(t in any_terms(), extra in 0i64..2000) {
            let higher = PriceTerms { coefficient: t.coefficient + Decimal::new(extra, 3), ..t.clone() };
            prop_assert!(price(&higher).total >= price(&t).total);
        }

        #[test]
        fn a_discount_never_raises_and_a_surcharge_never_lowers_the_price(t in any_terms(), a in adjustment()) {
            let mut discounted = t.clone();
            discounted.discounts.push(a.clone());
            prop_assert!(price(&discounted).total <= price(&t).total);
            if t.surcharge.is_none() {
                let surcharged = PriceTerms { surcharge: Some(a), ..t.clone() };
                prop_assert!(price(&surcharged).total >= price(&t).total);
            }
        }

        #[test]
        fn the_order_of_discounts_does_not_matter_while_they_fit(t in any_terms()) {
            let mut reversed = t.clone();
            reversed.discounts.reverse();
            let (a, b) = (price(&t), price(&reversed));
            prop_assert_eq!(a.total, b.total);
        }
    }
}
