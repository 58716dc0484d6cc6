"""Real cities the synthetic shop places its customers in.

Kept as Python data (not a CSV) so the pure generator can use it without opening a file. Coordinates are
the usual city-centre coordinates (WGS84, decimal degrees); ``population_k`` is the approximate population
of the city proper in thousands and only serves as a sampling weight. ``language`` is the main language
spoken there (regional where a country has several, e.g. Quebec, Flanders, Geneva).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CITIES", "COUNTRIES", "City", "Country"]


class City(NamedTuple):
    country: str  # ISO 3166-1 alpha-2
    region: str
    city: str
    latitude: float
    longitude: float
    population_k: float
    language: str  # ISO 639-1


class Country(NamedTuple):
    iso: str
    name: str
    phone_code: str


COUNTRIES: dict[str, Country] = {
    c.iso: c
    for c in (
        Country("US", "United States", "1"),
        Country("CA", "Canada", "1"),
        Country("MX", "Mexico", "52"),
        Country("BR", "Brazil", "55"),
        Country("AR", "Argentina", "54"),
        Country("GB", "United Kingdom", "44"),
        Country("IE", "Ireland", "353"),
        Country("FR", "France", "33"),
        Country("DE", "Germany", "49"),
        Country("NL", "Netherlands", "31"),
        Country("BE", "Belgium", "32"),
        Country("ES", "Spain", "34"),
        Country("PT", "Portugal", "351"),
        Country("IT", "Italy", "39"),
        Country("CH", "Switzerland", "41"),
        Country("AT", "Austria", "43"),
        Country("SE", "Sweden", "46"),
        Country("NO", "Norway", "47"),
        Country("DK", "Denmark", "45"),
        Country("FI", "Finland", "358"),
        Country("PL", "Poland", "48"),
        Country("CZ", "Czechia", "420"),
        Country("AU", "Australia", "61"),
        Country("NZ", "New Zealand", "64"),
        Country("JP", "Japan", "81"),
    )
}

CITIES: tuple[City, ...] = tuple(
    City(*row)
    for row in (
        # United States
        ("US", "New York", "New York", 40.7128, -74.0060, 8336, "en"),
        ("US", "California", "Los Angeles", 34.0522, -118.2437, 3899, "en"),
        ("US", "Illinois", "Chicago", 41.8781, -87.6298, 2746, "en"),
        ("US", "Texas", "Houston", 29.7604, -95.3698, 2304, "en"),
        ("US", "Arizona", "Phoenix", 33.4484, -112.0740, 1608, "en"),
        ("US", "Pennsylvania", "Philadelphia", 39.9526, -75.1652, 1603, "en"),
        ("US", "Texas", "San Antonio", 29.4241, -98.4936, 1434, "en"),
        ("US", "California", "San Diego", 32.7157, -117.1611, 1386, "en"),
        ("US", "Texas", "Dallas", 32.7767, -96.7970, 1304, "en"),
        ("US", "Texas", "Austin", 30.2672, -97.7431, 961, "en"),
        ("US", "California", "San Francisco", 37.7749, -122.4194, 873, "en"),
        ("US", "Washington", "Seattle", 47.6062, -122.3321, 737, "en"),
        ("US", "Colorado", "Denver", 39.7392, -104.9903, 715, "en"),
        ("US", "Massachusetts", "Boston", 42.3601, -71.0589, 675, "en"),
        ("US", "Oregon", "Portland", 45.5152, -122.6784, 652, "en"),
        ("US", "Georgia", "Atlanta", 33.7490, -84.3880, 498, "en"),
        ("US", "Florida", "Miami", 25.7617, -80.1918, 442, "en"),
        ("US", "Minnesota", "Minneapolis", 44.9778, -93.2650, 429, "en"),
        # Canada
        ("CA", "Ontario", "Toronto", 43.6532, -79.3832, 2794, "en"),
        ("CA", "Quebec", "Montreal", 45.5017, -73.5673, 1762, "fr"),
        ("CA", "Alberta", "Calgary", 51.0447, -114.0719, 1306, "en"),
        ("CA", "Ontario", "Ottawa", 45.4215, -75.6972, 1017, "en"),
        ("CA", "Alberta", "Edmonton", 53.5461, -113.4938, 1010, "en"),
        ("CA", "British Columbia", "Vancouver", 49.2827, -123.1207, 662, "en"),
        ("CA", "Quebec", "Quebec City", 46.8139, -71.2080, 549, "fr"),
        # Mexico
        ("MX", "Ciudad de México", "Mexico City", 19.4326, -99.1332, 9209, "es"),
        ("MX", "Baja California", "Tijuana", 32.5149, -117.0382, 1922, "es"),
        ("MX", "Puebla", "Puebla", 19.0414, -98.2063, 1692, "es"),
        ("MX", "Jalisco", "Guadalajara", 20.6597, -103.3496, 1385, "es"),
        ("MX", "Nuevo León", "Monterrey", 25.6866, -100.3161, 1142, "es"),
        # Brazil
        ("BR", "São Paulo", "São Paulo", -23.5505, -46.6333, 12325, "pt"),
        ("BR", "Rio de Janeiro", "Rio de Janeiro", -22.9068, -43.1729, 6748, "pt"),
        ("BR", "Distrito Federal", "Brasília", -15.7939, -47.8828, 3055, "pt"),
        ("BR", "Bahia", "Salvador", -12.9777, -38.5016, 2886, "pt"),
        ("BR", "Minas Gerais", "Belo Horizonte", -19.9167, -43.9345, 2523, "pt"),
        ("BR", "Paraná", "Curitiba", -25.4284, -49.2733, 1948, "pt"),
        ("BR", "Rio Grande do Sul", "Porto Alegre", -30.0346, -51.2177, 1488, "pt"),
        # Argentina
        ("AR", "Ciudad Autónoma de Buenos Aires", "Buenos Aires", -34.6037, -58.3816, 3076, "es"),
        ("AR", "Córdoba", "Córdoba", -31.4201, -64.1888, 1391, "es"),
        ("AR", "Santa Fe", "Rosario", -32.9442, -60.6505, 1276, "es"),
        ("AR", "Mendoza", "Mendoza", -32.8895, -68.8458, 1000, "es"),
        # United Kingdom
        ("GB", "England", "London", 51.5074, -0.1278, 8982, "en"),
        ("GB", "England", "Birmingham", 52.4862, -1.8904, 1141, "en"),
        ("GB", "England", "Leeds", 53.8008, -1.5491, 793, "en"),
        ("GB", "Scotland", "Glasgow", 55.8642, -4.2518, 635, "en"),
        ("GB", "England", "Manchester", 53.4808, -2.2426, 553, "en"),
        ("GB", "Scotland", "Edinburgh", 55.9533, -3.1883, 527, "en"),
        ("GB", "England", "Liverpool", 53.4084, -2.9916, 498, "en"),
        ("GB", "England", "Bristol", 51.4545, -2.5879, 467, "en"),
        ("GB", "Wales", "Cardiff", 51.4816, -3.1791, 362, "en"),
        ("GB", "Northern Ireland", "Belfast", 54.5973, -5.9301, 345, "en"),
        # Ireland
        ("IE", "Leinster", "Dublin", 53.3498, -6.2603, 555, "en"),
        ("IE", "Munster", "Cork", 51.8985, -8.4756, 210, "en"),
        ("IE", "Munster", "Limerick", 52.6638, -8.6267, 94, "en"),
        ("IE", "Connacht", "Galway", 53.2707, -9.0568, 80, "en"),
        # France
        ("FR", "Île-de-France", "Paris", 48.8566, 2.3522, 2161, "fr"),
        ("FR", "Provence-Alpes-Côte d'Azur", "Marseille", 43.2965, 5.3698, 870, "fr"),
        ("FR", "Auvergne-Rhône-Alpes", "Lyon", 45.7640, 4.8357, 516, "fr"),
        ("FR", "Occitanie", "Toulouse", 43.6047, 1.4442, 479, "fr"),
        ("FR", "Provence-Alpes-Côte d'Azur", "Nice", 43.7102, 7.2620, 342, "fr"),
        ("FR", "Pays de la Loire", "Nantes", 47.2184, -1.5536, 309, "fr"),
        ("FR", "Occitanie", "Montpellier", 43.6108, 3.8767, 285, "fr"),
        ("FR", "Grand Est", "Strasbourg", 48.5734, 7.7521, 280, "fr"),
        ("FR", "Nouvelle-Aquitaine", "Bordeaux", 44.8378, -0.5792, 257, "fr"),
        ("FR", "Hauts-de-France", "Lille", 50.6292, 3.0573, 233, "fr"),
        ("FR", "Bretagne", "Rennes", 48.1173, -1.6778, 217, "fr"),
        # Germany
        ("DE", "Berlin", "Berlin", 52.5200, 13.4050, 3645, "de"),
        ("DE", "Hamburg", "Hamburg", 53.5511, 9.9937, 1841, "de"),
        ("DE", "Bavaria", "Munich", 48.1351, 11.5820, 1472, "de"),
        ("DE", "North Rhine-Westphalia", "Cologne", 50.9375, 6.9603, 1086, "de"),
        ("DE", "Hesse", "Frankfurt am Main", 50.1109, 8.6821, 753, "de"),
        ("DE", "Baden-Württemberg", "Stuttgart", 48.7758, 9.1829, 635, "de"),
        ("DE", "North Rhine-Westphalia", "Düsseldorf", 51.2277, 6.7735, 619, "de"),
        ("DE", "Saxony", "Leipzig", 51.3397, 12.3731, 587, "de"),
        ("DE", "Saxony", "Dresden", 51.0504, 13.7373, 556, "de"),
        ("DE", "Lower Saxony", "Hanover", 52.3759, 9.7320, 535, "de"),
        ("DE", "Bavaria", "Nuremberg", 49.4521, 11.0767, 518, "de"),
        # Netherlands
        ("NL", "North Holland", "Amsterdam", 52.3676, 4.9041, 872, "nl"),
        ("NL", "South Holland", "Rotterdam", 51.9244, 4.4777, 651, "nl"),
        ("NL", "South Holland", "The Hague", 52.0705, 4.3007, 545, "nl"),
        ("NL", "Utrecht", "Utrecht", 52.0907, 5.1214, 357, "nl"),
        ("NL", "North Brabant", "Eindhoven", 51.4416, 5.4697, 234, "nl"),
        # Belgium
        ("BE", "Brussels-Capital", "Brussels", 50.8503, 4.3517, 1209, "fr"),
        ("BE", "Flanders", "Antwerp", 51.2194, 4.4025, 530, "nl"),
        ("BE", "Flanders", "Ghent", 51.0543, 3.7174, 263, "nl"),
        ("BE", "Wallonia", "Liège", 50.6326, 5.5797, 197, "fr"),
        # Spain
        ("ES", "Community of Madrid", "Madrid", 40.4168, -3.7038, 3223, "es"),
        ("ES", "Catalonia", "Barcelona", 41.3851, 2.1734, 1620, "es"),
        ("ES", "Valencian Community", "Valencia", 39.4699, -0.3763, 791, "es"),
        ("ES", "Andalusia", "Seville", 37.3891, -5.9845, 688, "es"),
        ("ES", "Aragon", "Zaragoza", 41.6488, -0.8891, 675, "es"),
        ("ES", "Andalusia", "Málaga", 36.7213, -4.4214, 578, "es"),
        ("ES", "Basque Country", "Bilbao", 43.2630, -2.9350, 346, "es"),
        # Portugal
        ("PT", "Lisbon", "Lisbon", 38.7223, -9.1393, 545, "pt"),
        ("PT", "Porto", "Porto", 41.1579, -8.6291, 232, "pt"),
        ("PT", "Braga", "Braga", 41.5454, -8.4265, 193, "pt"),
        ("PT", "Coimbra", "Coimbra", 40.2033, -8.4103, 143, "pt"),
        # Italy
        ("IT", "Lazio", "Rome", 41.9028, 12.4964, 2873, "it"),
        ("IT", "Lombardy", "Milan", 45.4642, 9.1900, 1352, "it"),
        ("IT", "Campania", "Naples", 40.8518, 14.2681, 959, "it"),
        ("IT", "Piedmont", "Turin", 45.0703, 7.6869, 870, "it"),
        ("IT", "Sicily", "Palermo", 38.1157, 13.3615, 663, "it"),
        ("IT", "Liguria", "Genoa", 44.4056, 8.9463, 580, "it"),
        ("IT", "Emilia-Romagna", "Bologna", 44.4949, 11.3426, 390, "it"),
        ("IT", "Tuscany", "Florence", 43.7696, 11.2558, 382, "it"),
        # Switzerland
        ("CH", "Zurich", "Zurich", 47.3769, 8.5417, 421, "de"),
        ("CH", "Geneva", "Geneva", 46.2044, 6.1432, 203, "fr"),
        ("CH", "Basel-Stadt", "Basel", 47.5596, 7.5886, 178, "de"),
        ("CH", "Vaud", "Lausanne", 46.5197, 6.6323, 139, "fr"),
        ("CH", "Bern", "Bern", 46.9480, 7.4474, 134, "de"),
        # Austria
        ("AT", "Vienna", "Vienna", 48.2082, 16.3738, 1897, "de"),
        ("AT", "Styria", "Graz", 47.0707, 15.4395, 291, "de"),
        ("AT", "Upper Austria", "Linz", 48.3069, 14.2858, 206, "de"),
        ("AT", "Salzburg", "Salzburg", 47.8095, 13.0550, 155, "de"),
        ("AT", "Tyrol", "Innsbruck", 47.2692, 11.4041, 131, "de"),
        # Sweden
        ("SE", "Stockholm", "Stockholm", 59.3293, 18.0686, 975, "sv"),
        ("SE", "Västra Götaland", "Gothenburg", 57.7089, 11.9746, 583, "sv"),
        ("SE", "Skåne", "Malmö", 55.6050, 13.0038, 347, "sv"),
        ("SE", "Uppsala", "Uppsala", 59.8586, 17.6389, 177, "sv"),
        # Norway
        ("NO", "Oslo", "Oslo", 59.9139, 10.7522, 697, "nb"),
        ("NO", "Vestland", "Bergen", 60.3913, 5.3221, 285, "nb"),
        ("NO", "Trøndelag", "Trondheim", 63.4305, 10.3951, 205, "nb"),
        ("NO", "Rogaland", "Stavanger", 58.9700, 5.7331, 144, "nb"),
        # Denmark
        ("DK", "Capital Region", "Copenhagen", 55.6761, 12.5683, 644, "da"),
        ("DK", "Central Denmark", "Aarhus", 56.1629, 10.2039, 285, "da"),
        ("DK", "Southern Denmark", "Odense", 55.4038, 10.4024, 180, "da"),
        ("DK", "North Denmark", "Aalborg", 57.0488, 9.9217, 119, "da"),
        # Finland
        ("FI", "Uusimaa", "Helsinki", 60.1699, 24.9384, 656, "fi"),
        ("FI", "Uusimaa", "Espoo", 60.2055, 24.6559, 292, "fi"),
        ("FI", "Pirkanmaa", "Tampere", 61.4978, 23.7610, 241, "fi"),
        ("FI", "North Ostrobothnia", "Oulu", 65.0121, 25.4651, 207, "fi"),
        ("FI", "Southwest Finland", "Turku", 60.4518, 22.2666, 194, "fi"),
        # Poland
        ("PL", "Masovian", "Warsaw", 52.2297, 21.0122, 1794, "pl"),
        ("PL", "Lesser Poland", "Kraków", 50.0647, 19.9450, 780, "pl"),
        ("PL", "Łódź", "Łódź", 51.7592, 19.4560, 672, "pl"),
        ("PL", "Lower Silesian", "Wrocław", 51.1079, 17.0385, 643, "pl"),
        ("PL", "Greater Poland", "Poznań", 52.4064, 16.9252, 533, "pl"),
        ("PL", "Pomeranian", "Gdańsk", 54.3520, 18.6466, 471, "pl"),
        # Czechia
        ("CZ", "Prague", "Prague", 50.0755, 14.4378, 1309, "cs"),
        ("CZ", "South Moravian", "Brno", 49.1951, 16.6068, 381, "cs"),
        ("CZ", "Moravian-Silesian", "Ostrava", 49.8209, 18.2625, 284, "cs"),
        ("CZ", "Plzeň", "Plzeň", 49.7384, 13.3736, 175, "cs"),
        # Australia
        ("AU", "New South Wales", "Sydney", -33.8688, 151.2093, 5312, "en"),
        ("AU", "Victoria", "Melbourne", -37.8136, 144.9631, 5078, "en"),
        ("AU", "Queensland", "Brisbane", -27.4698, 153.0251, 2560, "en"),
        ("AU", "Western Australia", "Perth", -31.9505, 115.8605, 2085, "en"),
        ("AU", "South Australia", "Adelaide", -34.9285, 138.6007, 1376, "en"),
        ("AU", "Australian Capital Territory", "Canberra", -35.2809, 149.1300, 431, "en"),
        ("AU", "Tasmania", "Hobart", -42.8821, 147.3272, 247, "en"),
        # New Zealand
        ("NZ", "Auckland", "Auckland", -36.8485, 174.7633, 1657, "en"),
        ("NZ", "Canterbury", "Christchurch", -43.5321, 172.6362, 381, "en"),
        ("NZ", "Wellington", "Wellington", -41.2865, 174.7762, 215, "en"),
        ("NZ", "Waikato", "Hamilton", -37.7870, 175.2793, 178, "en"),
        # Japan
        ("JP", "Tokyo", "Tokyo", 35.6762, 139.6503, 13960, "ja"),
        ("JP", "Kanagawa", "Yokohama", 35.4437, 139.6380, 3757, "ja"),
        ("JP", "Osaka", "Osaka", 34.6937, 135.5023, 2750, "ja"),
        ("JP", "Aichi", "Nagoya", 35.1815, 136.9066, 2320, "ja"),
        ("JP", "Hokkaido", "Sapporo", 43.0618, 141.3545, 1973, "ja"),
        ("JP", "Fukuoka", "Fukuoka", 33.5904, 130.4017, 1612, "ja"),
        ("JP", "Kyoto", "Kyoto", 35.0116, 135.7681, 1464, "ja"),
    )
)
